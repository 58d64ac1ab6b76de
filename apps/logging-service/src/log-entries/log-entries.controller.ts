import { Controller, Get, Query } from '@nestjs/common';

import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { LOG_LEVELS } from '@app/contracts';
import { TimeWindowQuery } from '../common/http';
import { decodeLogCursor, IsLogCursor } from './log-cursor';
import { LogEntriesRepository, LogPage } from './log-entries.repository';

export class LogQueryDto extends TimeWindowQuery {
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

  /** `nextCursor` of the previous page (same filters). */
  @IsOptional()
  @IsString()
  @IsLogCursor()
  cursor?: string;
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
