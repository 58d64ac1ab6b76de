import { SqlMigration } from '@app/database';

export const NOTIFICATION_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_escalations_and_notifications',
    up: `
      -- One row per pain escalation: which level of the chain it has reached and whether someone
      -- acknowledged it. The escalation id comes from the monolith, so a re-published escalation is
      -- recognised even under a new event id.
      CREATE TABLE escalations (
        escalation_id    text PRIMARY KEY,
        patient_id       text NOT NULL,
        ward             text,
        severity         text NOT NULL CHECK (severity IN ('moderate', 'high', 'critical')),
        score            integer NOT NULL,
        previous_score   integer,
        reasons          jsonb NOT NULL,
        current_level    integer NOT NULL CHECK (current_level >= 1),
        status           text NOT NULL CHECK (status IN ('open', 'acknowledged', 'exhausted')),
        raised_at        timestamptz NOT NULL,
        opened_at        timestamptz NOT NULL DEFAULT now(),
        acknowledged_at  timestamptz,
        acknowledged_by  text,
        exhausted_at     timestamptz,
        updated_at       timestamptz NOT NULL DEFAULT now(),
        source_event_id  text NOT NULL
      );
      CREATE INDEX escalations_patient_idx ON escalations (patient_id, opened_at DESC);

      -- One row per notification sent. The id is derived from its source (escalation and level, or
      -- the requesting event), so a retry after a crash re-creates the same id and the receiving
      -- system can drop the duplicate by it.
      CREATE TABLE notifications (
        id               uuid PRIMARY KEY,
        kind             text NOT NULL CHECK (kind IN ('escalation', 'request')),
        escalation_id    text REFERENCES escalations (escalation_id),
        level            integer CHECK (level >= 1),
        recipient        text NOT NULL,
        channel          text NOT NULL,
        subject          text NOT NULL,
        body             text NOT NULL,
        priority         text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'critical')),
        patient_id       text,
        status           text NOT NULL CHECK (status IN ('sent', 'acknowledged', 'superseded', 'exhausted')),
        sent_at          timestamptz NOT NULL,
        acknowledged_at  timestamptz,
        acknowledged_by  text,
        ack_note         text,
        source_event_id  text NOT NULL,
        UNIQUE (escalation_id, level),
        CHECK ((kind = 'escalation') = (escalation_id IS NOT NULL AND level IS NOT NULL))
      );
      CREATE INDEX notifications_escalation_idx ON notifications (escalation_id, level);
      CREATE INDEX notifications_patient_idx ON notifications (patient_id, sent_at DESC);
      CREATE INDEX notifications_status_idx ON notifications (status, sent_at DESC);
    `,
  },
];
