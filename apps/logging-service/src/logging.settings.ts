import { readSettings, ServiceConfig } from '@app/platform';

export const LOGGING_SETTINGS = Symbol('LOGGING_SETTINGS');

export interface LoggingSettings {
  /** Audit reader credentials: token -> reader name. Empty: audit reading is not configured. */
  auditReaders: Map<string, string>;
}

/** The logging-service's own variables; a malformed one stops startup with a sentence naming it. */
export function readLoggingSettings(config: ServiceConfig): LoggingSettings {
  return readSettings('logging-service', config.env, (r) => ({
    auditReaders: r.pairs('AUDIT_READER_TOKENS', 16),
  }));
}
