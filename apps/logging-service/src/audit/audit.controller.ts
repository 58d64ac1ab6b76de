import {
  Controller,
  createParamDecorator,
  ExecutionContext,
  Get,
  NotFoundException,
  Param,
  Query,
  UseGuards,
} from '@nestjs/common';
import { Type } from 'class-transformer';
import {
  IsDate,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import type { Request } from 'express';
import { FieldError } from '@app/platform';
import { headerValue, invalidFields } from '@app/platform';
import { TimeWindowQuery } from '../common/http';
import { AuditAccessLog, ReadContext } from './audit-access-log';
import { AuditReader, AuditReaderGuard } from './audit-reader.guard';
import { AuditPage, AuditStore, StoredAuditEvent, VerifyResult } from './audit-store';

/** `<Entity>/<id>`, e.g. `Patient/0190a000-…` (sent URL-encoded: `Patient%2F0190a000-…`). */
const STREAM_ID = /^[A-Z][A-Za-z]{0,63}\/[^\s/]{1,200}$/;

export class StreamParams {
  @Matches(STREAM_ID, { message: 'streamId must look like <Entity>/<id>, e.g. Patient/<uuid> (URL-encoded)' })
  streamId: string;
}

export class HistoryQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  fromVersion = 1;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit = 100;
}

/** Exactly one of `version` and `at` (checked in the handler: a DTO cannot say "exactly one"). */
export class StateQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  version?: number;

  @IsOptional()
  @Type(() => Date)
  @IsDate()
  at?: Date;
}

export class AuditSearchDto extends TimeWindowQuery {
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  actor?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  eventType?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  patientId?: string;

  /** `nextCursor` of the previous page: the global position to continue after. */
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'after must be a position (nextCursor of the previous page)' })
  after?: string;
}

const PURPOSE_HEADER = 'x-purpose';
const CORRELATION_HEADER = 'x-correlation-id';
const MAX_PURPOSE_LENGTH = 200;
const MAX_CORRELATION_LENGTH = 128;

/** Why the reader reads (`x-purpose`, default `audit`) and the request's correlation id. */
const Read = createParamDecorator((_: unknown, context: ExecutionContext): ReadContext => {
  const request = context.switchToHttp().getRequest<Request>();
  const purpose = headerValue(request, PURPOSE_HEADER);
  const correlationId = headerValue(request, CORRELATION_HEADER);
  const problems: FieldError[] = [];
  if (purpose !== undefined && purpose.length > MAX_PURPOSE_LENGTH) {
    problems.push({
      field: PURPOSE_HEADER,
      errors: [`${PURPOSE_HEADER} must be at most ${MAX_PURPOSE_LENGTH} characters`],
    });
  }
  if (correlationId !== undefined && correlationId.length > MAX_CORRELATION_LENGTH) {
    problems.push({
      field: CORRELATION_HEADER,
      errors: [`${CORRELATION_HEADER} must be at most ${MAX_CORRELATION_LENGTH} characters`],
    });
  }
  if (problems.length > 0) throw invalidFields(problems);
  return { purpose: purpose ?? 'audit', correlationId: correlationId ?? null };
});

/**
 * A stream concerns one patient when its events name exactly one, or when it is the patient's own
 * stream; a reader's access stream is about the reader, whoever was read.
 */
function patientOf(streamId: string, recorded: string | null): string | null {
  if (streamId.startsWith('AuditAccess/')) return null;
  if (recorded) return recorded;
  return streamId.startsWith('Patient/') ? streamId.slice('Patient/'.length) : null;
}

/**
 * Read access to the audit trail for configured readers; every answered query is itself audited in
 * `AuditAccess/<reader>` before the answer leaves.
 */
@Controller('audit')
@UseGuards(AuditReaderGuard)
export class AuditController {
  constructor(
    private readonly store: AuditStore,
    private readonly access: AuditAccessLog,
  ) {}

  @Get('streams/:streamId/events')
  async history(
    @Param() { streamId }: StreamParams,
    @Query() query: HistoryQueryDto,
    @AuditReader() reader: string,
    @Read() read: ReadContext,
  ): Promise<{ streamId: string; events: StoredAuditEvent[]; nextVersion: number | null }> {
    const summary = await this.requireStream(streamId);
    const found = await this.store.history(streamId, query.fromVersion, query.limit + 1);
    const events = found.slice(0, query.limit);
    await this.access.record(reader, read, {
      route: 'GET /audit/streams/:streamId/events',
      streamId,
      query: { ...query },
      patientId: patientOf(streamId, summary.patientId),
    });
    return {
      streamId,
      events,
      nextVersion: found.length > query.limit ? events[events.length - 1].version + 1 : null,
    };
  }

  /** The entity as of a version (`asOf`: when that version occurred) or as of a time (`asOf` = `at`). */
  @Get('streams/:streamId/state')
  async state(
    @Param() { streamId }: StreamParams,
    @Query() query: StateQueryDto,
    @AuditReader() reader: string,
    @Read() read: ReadContext,
  ): Promise<{ streamId: string; version: number; asOf: Date; state: Record<string, unknown> | null }> {
    if ((query.version === undefined) === (query.at === undefined)) {
      const error = 'give exactly one of version and at';
      throw invalidFields([
        { field: 'version', errors: [error] },
        { field: 'at', errors: [error] },
      ]);
    }
    const summary = await this.requireStream(streamId);
    let asOf: Date;
    if (query.version !== undefined) {
      if (query.version > summary.version) {
        throw new NotFoundException(
          `${streamId} has no version ${query.version} (its latest is ${summary.version})`,
        );
      }
      const [event] = await this.store.history(streamId, query.version, 1);
      asOf = event.occurredAt;
    } else {
      asOf = query.at!;
    }
    const { version, state } = await this.store.stateAsOf(streamId, {
      version: query.version,
      time: query.at,
    });
    await this.access.record(reader, read, {
      route: 'GET /audit/streams/:streamId/state',
      streamId,
      query: { ...query },
      patientId: patientOf(streamId, summary.patientId),
    });
    return { streamId, version, asOf, state };
  }

  @Get('streams/:streamId/verify')
  async verify(
    @Param() { streamId }: StreamParams,
    @AuditReader() reader: string,
    @Read() read: ReadContext,
  ): Promise<VerifyResult> {
    const summary = await this.requireStream(streamId);
    const result = await this.store.verify(streamId);
    await this.access.record(reader, read, {
      route: 'GET /audit/streams/:streamId/verify',
      streamId,
      query: {},
      patientId: patientOf(streamId, summary.patientId),
    });
    return result;
  }

  /**
   * Events across streams in global position order. Continue with `after=<nextCursor>` (or the last
   * item's position, to follow new events once `nextCursor` is null).
   */
  @Get('events')
  async search(
    @Query() query: AuditSearchDto,
    @AuditReader() reader: string,
    @Read() read: ReadContext,
  ): Promise<AuditPage> {
    const page = await this.store.search(query);
    await this.access.record(reader, read, {
      route: 'GET /audit/events',
      query: { ...query },
      patientId: query.patientId,
    });
    return page;
  }

  private async requireStream(streamId: string) {
    const summary = await this.store.streamSummary(streamId);
    if (!summary) throw new NotFoundException(`No audit stream ${streamId}`);
    return summary;
  }
}
