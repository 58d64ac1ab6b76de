import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { AcknowledgeNotificationDto, NotificationQueryDto } from './notifications.dto';
import { NotificationsRepository } from './notifications.repository';
import { Acknowledgement, NotificationsService } from './notifications.service';

/** The `x-actor` header (≤ 200 characters) names who acts; a longer one is refused, not cut. */
function actorOf(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (header.length > 200) {
    throw new BadRequestException({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Invalid fields: x-actor',
      fields: [{ field: 'x-actor', errors: ['x-actor must be shorter than or equal to 200 characters'] }],
    });
  }
  return header;
}

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
    @Headers('x-actor') actor?: string,
    @Headers('x-correlation-id') correlationId?: string,
  ): Promise<Acknowledgement> {
    return this.notifications.acknowledge(id, {
      acknowledgedBy: body.acknowledgedBy,
      note: body.note,
      actor: actorOf(actor),
      correlationId: correlationId ? correlationId.slice(0, 128) : undefined,
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
