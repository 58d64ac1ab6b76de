import { SqlMigration } from '@app/database';

export const LOGGING_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_log_entries',
    up: `
      CREATE TABLE log_entries (
        event_id       uuid PRIMARY KEY,
        service        text NOT NULL,
        level          text NOT NULL,
        operation      text NOT NULL,
        message        text NOT NULL,
        context        jsonb,
        correlation_id text,
        occurred_at    timestamptz NOT NULL,
        source_topic   text NOT NULL,
        source_partition int NOT NULL,
        source_offset  bigint NOT NULL,
        received_at    timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX log_entries_correlation_idx ON log_entries (correlation_id);
      CREATE INDEX log_entries_service_time_idx ON log_entries (service, occurred_at DESC);
    `,
  },
];
