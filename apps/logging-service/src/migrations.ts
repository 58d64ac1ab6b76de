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
  {
    name: '0002_audit_events',
    up: `
      -- One row per audited event: one stream per audited entity, a version per event in the stream,
      -- a global position for stable keyset paging, and a hash chain per stream for tamper evidence.
      CREATE TABLE audit_events (
        position       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id       text NOT NULL UNIQUE,
        stream_id      text NOT NULL,
        version        integer NOT NULL CHECK (version >= 1),
        event_type     text NOT NULL,
        action         char(1) NOT NULL CHECK (action IN ('C', 'R', 'U', 'D', 'E')),
        actor          text NOT NULL,
        outcome        text NOT NULL,
        source_service text NOT NULL,
        purpose        text,
        patient_id     text,
        data           jsonb NOT NULL,
        correlation_id text,
        causation_id   text,
        occurred_at    timestamptz NOT NULL,
        recorded_at    timestamptz NOT NULL DEFAULT now(),
        prev_hash      text,
        hash           text NOT NULL,
        UNIQUE (stream_id, version)
      );
      CREATE INDEX audit_events_actor_idx ON audit_events (actor, position);
      CREATE INDEX audit_events_patient_idx ON audit_events (patient_id, position);

      -- Append-only: the database itself refuses to change or remove history.
      CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$;
      CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
    `,
  },
  {
    name: '0003_search_indexes',
    up: `
      -- Event ids come from the envelope (any string) or, without one, from the record's position
      -- ("logging-events-2-17"): neither is necessarily a UUID.
      ALTER TABLE log_entries ALTER COLUMN event_id TYPE text;

      -- Log search pages newest first on (occurred_at, event_id), alone or within one service or operation.
      CREATE INDEX log_entries_time_idx ON log_entries (occurred_at DESC, event_id DESC);
      DROP INDEX log_entries_service_time_idx;
      CREATE INDEX log_entries_service_page_idx ON log_entries (service, occurred_at DESC, event_id DESC);
      CREATE INDEX log_entries_operation_page_idx ON log_entries (operation, occurred_at DESC, event_id DESC);

      -- Audit search pages on the global position within an event type.
      CREATE INDEX audit_events_event_type_idx ON audit_events (event_type, position);
    `,
  },
];
