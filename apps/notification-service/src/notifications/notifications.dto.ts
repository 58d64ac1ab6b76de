import { Type } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
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

export class NotificationQueryDto {
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

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 50;
}
