import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { LOG_LEVELS, LogLevel } from '@app/contracts';

export class RecordOperationLogDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  operation: string;

  @IsIn(LOG_LEVELS)
  level: LogLevel;

  @IsString()
  @MaxLength(2000)
  message: string;

  @IsOptional()
  @IsObject()
  context?: Record<string, unknown>;
}
