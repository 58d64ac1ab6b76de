import { ExecutionContext, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { ConfigError, loadServiceConfig } from '@app/platform';
import { readLoggingSettings } from '../logging.settings';
import { AuditReaderGuard } from './audit-reader.guard';

const AUDITOR = 'auditor-token-0123456789';
const OTHER = 'other-reader-token-abcdef';

function settings(tokens?: string) {
  return readLoggingSettings(
    loadServiceConfig('logging-service', tokens === undefined ? {} : { AUDIT_READER_TOKENS: tokens }),
  );
}

function request(authorization?: string) {
  const req: { headers: Record<string, string>; auditReader?: string } = {
    headers: authorization === undefined ? {} : { authorization },
  };
  const context = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
  return { req, context };
}

describe('audit reader guard', () => {
  const guard = new AuditReaderGuard(settings(`auditor:${AUDITOR}, other:${OTHER}`));

  it('lets a configured token in and names its reader', () => {
    for (const [token, name] of [
      [AUDITOR, 'auditor'],
      [OTHER, 'other'],
    ]) {
      const { req, context } = request(`Bearer ${token}`);
      expect(guard.canActivate(context)).toBe(true);
      expect(req.auditReader).toBe(name);
    }
  });

  it('refuses a missing, malformed or unknown credential with 401', () => {
    for (const header of [undefined, '', AUDITOR, `Basic ${AUDITOR}`, 'Bearer ', `Bearer ${AUDITOR}x`]) {
      const { req, context } = request(header);
      expect(() => guard.canActivate(context)).toThrow(UnauthorizedException);
      expect(() => guard.canActivate(context)).toThrow(/valid audit reader token is required/);
      expect(req.auditReader).toBeUndefined();
    }
  });

  it('refuses everyone with 403 when no readers are configured', () => {
    const closed = new AuditReaderGuard(settings());
    const { context } = request(`Bearer ${AUDITOR}`);
    expect(() => closed.canActivate(context)).toThrow(ForbiddenException);
    expect(() => closed.canActivate(context)).toThrow(/Audit reading is not configured/);
  });

  it('stops startup on a malformed AUDIT_READER_TOKENS, without echoing the secret', () => {
    let error: unknown;
    try {
      settings('auditor:tooshort');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/AUDIT_READER_TOKENS .*"auditor" is not/);
    expect(message).not.toContain('tooshort');
  });
});
