import { Controller, Get, Query } from '@nestjs/common';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { LOG_LEVELS } from '@app/contracts';
import { LogEntriesRepository } from './log-entries.repository';

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
  @MaxLength(128)
  correlationId?: string;

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

  @Get()
  async search(@Query() query: LogQueryDto) {
    return { items: await this.entries.find(query) };
  }
}
