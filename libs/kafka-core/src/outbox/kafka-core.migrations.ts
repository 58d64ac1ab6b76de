import { SqlMigration } from '@app/database';

/**
 * Tables kafka-core keeps in each service's schema. The outbox columns `id`, `aggregatetype`,
 * `aggregateid`, `type` and `payload` are the ones Debezium's outbox event router reads, so a CDC
 * connector can replace the relay (route by `aggregatetype`, which holds the topic).
 */
export const KAFKA_CORE_MIGRATIONS: readonly SqlMigration[] = [
  {
    name: 'kafka-core-0001-outbox-and-inbox',
    up: `
      CREATE TABLE kafka_outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        aggregatetype text NOT NULL,
        aggregateid text,
        type text NOT NULL,
        payload text NOT NULL,
        headers jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        available_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        published_at timestamptz
      );
      CREATE INDEX kafka_outbox_pending ON kafka_outbox (seq) WHERE published_at IS NULL;
      CREATE INDEX kafka_outbox_published ON kafka_outbox (published_at) WHERE published_at IS NOT NULL;

      CREATE TABLE kafka_outbox_dead (
        seq bigint PRIMARY KEY,
        id text NOT NULL,
        aggregatetype text NOT NULL,
        aggregateid text,
        type text NOT NULL,
        payload text NOT NULL,
        headers jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        attempts integer NOT NULL,
        reason text NOT NULL,
        parked_at timestamptz NOT NULL DEFAULT now()
      );

      -- Rows that failed are the only ones that can hold back later rows of their key; indexing just
      -- them keeps the relay's order check cheap without costing inserts anything.
      CREATE INDEX kafka_outbox_retrying ON kafka_outbox (aggregatetype, aggregateid, seq)
        WHERE published_at IS NULL AND attempts > 0;

      -- Whether the relay leader sleeps. NOTIFY serialises committing transactions (a cluster-wide
      -- lock held through the WAL flush), so writers notify only a sleeping relay; a busy one claims
      -- again on its own.
      CREATE TABLE kafka_outbox_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        relay_idle boolean NOT NULL
      );
      INSERT INTO kafka_outbox_state (relay_idle) VALUES (false);

      -- Deferred to commit, so the flag is read as late as possible; PostgreSQL folds the identical
      -- notifications of one transaction into one.
      CREATE FUNCTION kafka_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT relay_idle FROM kafka_outbox_state) THEN
          PERFORM pg_notify('kafka_outbox_' || TG_TABLE_SCHEMA, '');
        END IF;
        RETURN NULL;
      END $$;
      CREATE CONSTRAINT TRIGGER kafka_outbox_notify AFTER INSERT ON kafka_outbox
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kafka_outbox_notify();

      CREATE TABLE kafka_inbox (
        group_id text NOT NULL,
        event_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, event_id)
      );
      CREATE INDEX kafka_inbox_processed_at ON kafka_inbox (processed_at);
    `,
  },
];

/** The channel the outbox trigger notifies for a schema. */
export const outboxChannel = (schema: string): string => `kafka_outbox_${schema}`;
