import { SqlMigration } from '@app/database';

export const MONOLITH_MIGRATIONS: SqlMigration[] = [
  {
    name: '0001_patients',
    up: `
      CREATE TABLE patients (
        id          uuid PRIMARY KEY,
        mrn         text NOT NULL UNIQUE,
        given_name  text NOT NULL,
        family_name text NOT NULL,
        birth_date  date NOT NULL,
        sex         text,
        ward        text,
        allergies   jsonb NOT NULL DEFAULT '[]',
        medications jsonb NOT NULL DEFAULT '[]',
        -- The EMR version last applied; null for patients the EMR never sent.
        emr_version integer,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX patients_ward_idx ON patients (ward, created_at DESC);
    `,
  },
  {
    name: '0002_pain_assessments',
    up: `
      CREATE TABLE pain_assessments (
        id          uuid PRIMARY KEY,
        -- Insertion order: breaks ties between assessments recorded at the same instant.
        seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        patient_id  uuid NOT NULL REFERENCES patients (id),
        score       integer NOT NULL CHECK (score BETWEEN 0 AND 10),
        location    text NOT NULL,
        notes       text,
        recorded_by text NOT NULL,
        recorded_at timestamptz NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX pain_assessments_patient_time_idx ON pain_assessments (patient_id, recorded_at DESC, seq DESC);

      CREATE TABLE escalations (
        id             uuid PRIMARY KEY,
        patient_id     uuid NOT NULL REFERENCES patients (id),
        -- The assessment that triggered it: one escalation per triggering assessment.
        assessment_id  uuid NOT NULL UNIQUE REFERENCES pain_assessments (id),
        severity       text NOT NULL CHECK (severity IN ('moderate', 'high', 'critical')),
        reasons        text[] NOT NULL,
        score          integer NOT NULL CHECK (score BETWEEN 0 AND 10),
        previous_score integer CHECK (previous_score BETWEEN 0 AND 10),
        assessment_ids uuid[] NOT NULL,
        raised_at      timestamptz NOT NULL
      );
      CREATE INDEX escalations_patient_time_idx ON escalations (patient_id, raised_at DESC);
    `,
  },
  {
    name: '0003_treatment_protocols',
    up: `
      CREATE TABLE treatment_protocols (
        id              uuid PRIMARY KEY,
        patient_id      uuid NOT NULL REFERENCES patients (id),
        current_version integer NOT NULL DEFAULT 1,
        created_by      text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX treatment_protocols_patient_idx ON treatment_protocols (patient_id, created_at DESC);

      -- Every revision is a new row: earlier versions are never overwritten.
      CREATE TABLE protocol_versions (
        protocol_id uuid NOT NULL REFERENCES treatment_protocols (id),
        version     integer NOT NULL CHECK (version >= 1),
        name        text NOT NULL,
        steps       jsonb NOT NULL,
        medications jsonb NOT NULL DEFAULT '[]',
        notes       text,
        revised_by  text NOT NULL,
        revised_at  timestamptz NOT NULL DEFAULT now(),
        UNIQUE (protocol_id, version)
      );
    `,
  },
];
