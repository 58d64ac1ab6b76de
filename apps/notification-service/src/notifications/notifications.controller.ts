import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { Meta, RequestMeta } from '@app/platform';
import { AcknowledgeNotificationDto, NotificationQueryDto } from './notifications.dto';
import { NotificationsRepository } from './notifications.repository';
import { Acknowledgement, NotificationsService } from './notifications.service';

@Controller()
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly repository: NotificationsRepository,
  ) {}

  /**
   * Acknowledges a notification and its escalation (no further level is notified). Repeating it as
   * the same person answers the original acknowledgment; someone else gets 409.
   */
  @Post('notifications/:id/acknowledge')
  @HttpCode(200)
  acknowledge(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: AcknowledgeNotificationDto,
    @Meta() meta: RequestMeta,
  ): Promise<Acknowledgement> {
    return this.notifications.acknowledge(id, {
      acknowledgedBy: body.acknowledgedBy,
      note: body.note,
      // Without x-actor, the audit names the person acknowledging rather than `anonymous`.
      actor: meta.identified ? meta.actor : undefined,
      correlationId: meta.correlationId,
    });
  }

  @Get('notifications')
  async search(@Query() query: NotificationQueryDto) {
    return { items: await this.repository.findNotifications(query) };
  }

  @Get('notifications/:id')
  async one(@Param('id', new ParseUUIDPipe()) id: string) {
    const notification = await this.repository.findNotification(id);
    if (!notification) throw new NotFoundException(`Notification ${id} not found`);
    return notification;
  }

  @Get('escalations/:id')
  async escalation(@Param('id') id: string) {
    const escalation = await this.repository.findEscalation(id);
    if (!escalation) throw new NotFoundException(`Escalation ${id} not found`);
    return { ...escalation, notifications: await this.repository.notificationsOf(id) };
  }
}
