import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '@app/platform';
import { NOTIFICATION_STATUSES, NotificationStatus } from './notifications.repository';

export class AcknowledgeNotificationDto {
  /** Who acknowledges: the person now responding to the patient. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  acknowledgedBy: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  note?: string;
}

export class NotificationQueryDto extends PageQuery {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  escalationId?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  patientId?: string;

  @IsOptional()
  @IsIn(NOTIFICATION_STATUSES)
  status?: NotificationStatus;
}
