import { SqlMigration } from '@app/database';

export const ANALYTICS_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_analytics_facts',
    up: `
      -- One row per analytic fact, keyed by the envelope's event id so a redelivery is stored once.
      CREATE TABLE analytics_facts (
        event_id        text PRIMARY KEY,
        event_type      text NOT NULL,
        service         text NOT NULL,
        -- One fact per operation log: a log re-published under a new event id is still counted once.
        source_event_id text NOT NULL UNIQUE,
        occurred_at     timestamptz NOT NULL,
        duration_ms     double precision CHECK (duration_ms >= 0),
        patient_id      text,
        ward            text,
        pain_score      smallint CHECK (pain_score BETWEEN 0 AND 10),
        received_at     timestamptz NOT NULL DEFAULT now()
      );
      -- Escalation rate and latency: one event type over a time range.
      CREATE INDEX analytics_facts_type_time_idx ON analytics_facts (event_type, occurred_at);
      -- Latency of all event types over a time range.
      CREATE INDEX analytics_facts_time_idx ON analytics_facts (occurred_at);
      -- Pain score statistics per patient and per ward read only the facts that carry a score.
      CREATE INDEX analytics_facts_patient_pain_idx ON analytics_facts (patient_id, occurred_at)
        WHERE pain_score IS NOT NULL;
      CREATE INDEX analytics_facts_ward_pain_idx ON analytics_facts (ward, occurred_at)
        WHERE pain_score IS NOT NULL;
      -- Escalation rate of one ward.
      CREATE INDEX analytics_facts_ward_type_time_idx ON analytics_facts (ward, event_type, occurred_at)
        WHERE ward IS NOT NULL;

      -- Tumbling-window counters per event type, kept up to date as facts arrive, so counting over
      -- time reads a handful of rows instead of scanning the facts.
      CREATE TABLE event_counts (
        granularity  text NOT NULL CHECK (granularity IN ('minute', 'hour')),
        bucket_start timestamptz NOT NULL,
        event_type   text NOT NULL,
        count        bigint NOT NULL CHECK (count > 0),
        PRIMARY KEY (granularity, bucket_start, event_type)
      );
      CREATE INDEX event_counts_type_idx ON event_counts (granularity, event_type, bucket_start);
    `,
  },
];
