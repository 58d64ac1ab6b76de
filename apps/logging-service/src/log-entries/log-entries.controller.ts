import { Controller, Get, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { LOG_LEVELS } from '@app/contracts';
import { NotBefore } from '../common/http';
import { decodeLogCursor, IsLogCursor } from './log-cursor';
import { LogEntriesRepository, LogPage } from './log-entries.repository';

export class LogQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(100)
  service?: string;

  @IsOptional()
  @IsIn(LOG_LEVELS)
  level?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  operation?: string;

  @IsOptional()
  @IsString()
  @MaxLength(128)
  correlationId?: string;

  /** Entries that occurred at or after this time. */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  /** Entries that occurred at or before this time. */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @NotBefore('from')
  to?: Date;

  /** `nextCursor` of the previous page (same filters). */
  @IsOptional()
  @IsString()
  @IsLogCursor()
  cursor?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 50;
}

@Controller('logs')
export class LogEntriesController {
  constructor(private readonly entries: LogEntriesRepository) {}

  /** Newest first; `nextCursor` is null on the last page. */
  @Get()
  search(@Query() query: LogQueryDto): Promise<LogPage> {
    const { cursor, ...filters } = query;
    return this.entries.find({
      ...filters,
      after: cursor === undefined ? undefined : decodeLogCursor(cursor),
    });
  }
}
