import { randomUUID } from 'node:crypto';
import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { KafkaOutbox } from '@app/kafka-core';
import { auditEvent, operationLog } from '../common/change-events';
import { RequestMeta } from '@app/platform';
import { CreatePatientDto, UPDATABLE_PATIENT_FIELDS, UpdatePatientDto } from './patient.dto';
import { Patient, PATIENT_COLUMNS, patientFromRow, PatientRow, patientState } from './patient.model';

const COLUMN_OF: Record<(typeof UPDATABLE_PATIENT_FIELDS)[number], string> = {
  givenName: 'given_name',
  familyName: 'family_name',
  ward: 'ward',
  sex: 'sex',
};

@Injectable()
export class PatientsService {
  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly outbox: KafkaOutbox,
  ) {}

  async create(dto: CreatePatientDto, meta: RequestMeta): Promise<Patient> {
    return this.db.transaction(async (tx) => {
      const { rows } = await tx.query<PatientRow>(
        `INSERT INTO patients (id, mrn, given_name, family_name, birth_date, sex, ward)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (mrn) DO NOTHING
         RETURNING ${PATIENT_COLUMNS}`,
        [
          randomUUID(),
          dto.mrn,
          dto.givenName,
          dto.familyName,
          dto.birthDate,
          dto.sex ?? null,
          dto.ward ?? null,
        ],
      );
      if (!rows[0]) throw new ConflictException('A patient with this MRN already exists');
      const patient = patientFromRow(rows[0]);
      await this.outbox.enqueueAll(tx, [
        {
          event: auditEvent({
            streamId: `Patient/${patient.id}`,
            eventType: 'patient.created',
            action: 'C',
            actor: meta.actor,
            purpose: 'treatment',
            patientId: patient.id,
            data: patientState(patient),
          }),
          options: { correlationId: meta.correlationId },
        },
        {
          event: operationLog({
            operation: 'patient.created',
            message: 'Patient created',
            context: { patientId: patient.id, ward: patient.ward },
            startedAt: meta.startedAt,
          }),
          options: { correlationId: meta.correlationId },
        },
      ]);
      return patient;
    });
  }

  async get(id: string): Promise<Patient> {
    const { rows } = await this.db.query<PatientRow>(
      `SELECT ${PATIENT_COLUMNS} FROM patients WHERE id = $1`,
      [id],
    );
    if (!rows[0]) throw new NotFoundException(`Patient ${id} not found`);
    return patientFromRow(rows[0]);
  }

  /**
   * Locks the patient row for the rest of `tx`: changes to one patient (and decisions that compare
   * against the patient's history, such as escalation) are serialised on it.
   */
  async lock(tx: SqlExecutor, id: string): Promise<Patient> {
    const { rows } = await tx.query<PatientRow>(
      `SELECT ${PATIENT_COLUMNS} FROM patients WHERE id = $1 FOR UPDATE`,
      [id],
    );
    if (!rows[0]) throw new NotFoundException(`Patient ${id} not found`);
    return patientFromRow(rows[0]);
  }

  /** Applies the fields that differ; an update that changes nothing writes and publishes nothing. */
  async update(id: string, dto: UpdatePatientDto, meta: RequestMeta): Promise<Patient> {
    return this.db.transaction(async (tx) => {
      const current = await this.lock(tx, id);
      const changes: Record<string, string | null> = {};
      for (const field of UPDATABLE_PATIENT_FIELDS) {
        const value = dto[field];
        if (value !== undefined && value !== current[field]) changes[field] = value;
      }
      const fields = Object.keys(changes) as (typeof UPDATABLE_PATIENT_FIELDS)[number][];
      if (fields.length === 0) return current;

      const assignments = fields.map((field, i) => `${COLUMN_OF[field]} = $${i + 2}`);
      const { rows } = await tx.query<PatientRow>(
        `UPDATE patients SET ${assignments.join(', ')}, updated_at = now() WHERE id = $1
         RETURNING ${PATIENT_COLUMNS}`,
        [id, ...fields.map((field) => changes[field])],
      );
      const patient = patientFromRow(rows[0]);
      await this.outbox.enqueueAll(tx, [
        {
          event: auditEvent({
            streamId: `Patient/${id}`,
            eventType: 'patient.updated',
            action: 'U',
            actor: meta.actor,
            purpose: 'treatment',
            patientId: id,
            data: changes,
          }),
          options: { correlationId: meta.correlationId },
        },
        {
          event: operationLog({
            operation: 'patient.updated',
            message: `Patient updated: ${fields.join(', ')}`,
            context: { patientId: id, ward: patient.ward, changedFields: fields },
            startedAt: meta.startedAt,
          }),
          options: { correlationId: meta.correlationId },
        },
      ]);
      return patient;
    });
  }

  async list(query: { ward?: string; limit: number }): Promise<Patient[]> {
    const { rows } = await this.db.query<PatientRow>(
      `SELECT ${PATIENT_COLUMNS} FROM patients
        WHERE ($1::text IS NULL OR ward = $1)
        ORDER BY created_at DESC, id
        LIMIT $2`,
      [query.ward ?? null, query.limit],
    );
    return rows.map(patientFromRow);
  }
}
