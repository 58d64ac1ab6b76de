import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import { LOGGING_SETTINGS, LoggingSettings } from '../logging.settings';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

type ReaderRequest = Request & { auditReader?: string };

/**
 * `Authorization: Bearer <token>` of one of AUDIT_READER_TOKENS; the token's name is the reader. The
 * audit trail names patients, so without configured readers nobody reads it. Tokens are compared in
 * constant time, on digests (lengths leak nothing) and against every configured token (which one
 * matched leaks nothing either).
 */
@Injectable()
export class AuditReaderGuard implements CanActivate {
  private readonly readers: { digest: Buffer; name: string }[];

  constructor(@Inject(LOGGING_SETTINGS) settings: LoggingSettings) {
    this.readers = [...settings.auditReaders].map(([token, name]) => ({ digest: digest(token), name }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.readers.length === 0) {
      throw new ForbiddenException('Audit reading is not configured: no AUDIT_READER_TOKENS are set');
    }
    const request = context.switchToHttp().getRequest<ReaderRequest>();
    const header = request.headers.authorization;
    const presented = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    const presentedDigest = digest(presented);
    let reader: string | undefined;
    for (const candidate of this.readers) {
      if (timingSafeEqual(candidate.digest, presentedDigest) && reader === undefined) reader = candidate.name;
    }
    if (!presented || reader === undefined) {
      throw new UnauthorizedException(
        'A valid audit reader token is required (Authorization: Bearer <token> of AUDIT_READER_TOKENS)',
      );
    }
    request.auditReader = reader;
    return true;
  }
}

/** The reader the guard identified. */
export const AuditReader = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const reader = context.switchToHttp().getRequest<ReaderRequest>().auditReader;
  if (!reader) throw new UnauthorizedException('No audit reader identified');
  return reader;
});
