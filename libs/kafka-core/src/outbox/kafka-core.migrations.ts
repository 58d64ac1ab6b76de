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
      CREATE INDEX kafka_outbox_per_key ON kafka_outbox (aggregatetype, aggregateid, seq)
        WHERE published_at IS NULL;
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

      -- One notification per inserting transaction (PostgreSQL folds identical ones), sent at commit.
      CREATE FUNCTION kafka_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('kafka_outbox_' || TG_TABLE_SCHEMA, '');
        RETURN NULL;
      END $$;
      CREATE TRIGGER kafka_outbox_notify AFTER INSERT ON kafka_outbox
        FOR EACH STATEMENT EXECUTE FUNCTION kafka_outbox_notify();

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
