import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Injectable } from '@nestjs/common';
import { EmrPatientUpdatedEvent } from '@app/contracts';
import { SqlExecutor } from '@app/database';
import { KafkaOutbox } from '@app/kafka-core';
import { auditEvent, operationLog } from '../common/change-events';
import {
  Patient,
  PATIENT_COLUMNS,
  patientFromRow,
  PatientRow,
  patientState,
} from '../patients/patient.model';

export type EmrSyncOutcome = 'created' | 'updated' | 'ignored';

/** The fields an EMR update owns; the ward is the hospital's and stays as it is. */
const EMR_FIELDS = ['givenName', 'familyName', 'birthDate', 'sex', 'allergies', 'medications'] as const;

@Injectable()
export class EmrSyncService {
  constructor(private readonly outbox: KafkaOutbox) {}

  /**
   * Applies one EMR update through `tx` (the inbox transaction): one conditional upsert by MRN that
   * only writes when the stored EMR version is absent or lower, so duplicates and stragglers leave the
   * newest state in place. Applied updates are audited; ignored ones only logged.
   */
  async apply(tx: SqlExecutor, event: EmrPatientUpdatedEvent, startedAt: number): Promise<EmrSyncOutcome> {
    const { demographics } = event;
    const { birthDate } = demographics;
    // Locked first so the audited changes are measured against the state this upsert replaces.
    const before = await this.findByMrn(tx, event.mrn, true);
    const id = randomUUID();
    const { rows } = await tx.query<PatientRow>(
      `INSERT INTO patients (id, mrn, given_name, family_name, birth_date, sex, allergies, medications, emr_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (mrn) DO UPDATE SET
         given_name = excluded.given_name, family_name = excluded.family_name, birth_date = excluded.birth_date,
         sex = excluded.sex, allergies = excluded.allergies, medications = excluded.medications,
         emr_version = excluded.emr_version, updated_at = now()
       WHERE patients.emr_version IS NULL OR patients.emr_version < excluded.emr_version
       RETURNING ${PATIENT_COLUMNS}`,
      [
        id,
        event.mrn,
        demographics.givenName,
        demographics.familyName,
        // The contract allows a full ISO timestamp; the patient keeps its calendar date.
        birthDate,
        demographics.sex ?? null,
        JSON.stringify(event.allergies),
        JSON.stringify(event.medications),
        event.emrVersion,
      ],
    );

    if (!rows[0]) {
      // A concurrent insert may have won the MRN after the lookup above.
      const stored = before ?? (await this.findByMrn(tx, event.mrn, false));
      await this.outbox.enqueue(
        tx,
        operationLog({
          operation: 'emr.update-ignored',
          message: `EMR version ${event.emrVersion} ignored: version ${stored?.emrVersion} is already applied`,
          context: {
            patientId: stored?.id,
            ward: stored?.ward,
            receivedEmrVersion: event.emrVersion,
            storedEmrVersion: stored?.emrVersion,
          },
          startedAt,
        }),
      );
      return 'ignored';
    }

    const patient = patientFromRow(rows[0]);
    const created = patient.id === id;
    const data: Record<string, unknown> = created
      ? patientState(patient)
      : { emrVersion: patient.emrVersion };
    if (!created && before) {
      for (const field of EMR_FIELDS) {
        if (!isDeepStrictEqual(patient[field], before[field])) data[field] = patient[field];
      }
    }
    await this.outbox.enqueueAll(tx, [
      {
        event: auditEvent({
          streamId: `Patient/${patient.id}`,
          eventType: 'patient.emr-synced',
          action: created ? 'C' : 'U',
          actor: 'emr',
          purpose: 'emr-sync',
          patientId: patient.id,
          data,
        }),
      },
      {
        event: operationLog({
          operation: 'patient.emr-synced',
          message: created
            ? `Patient created from EMR version ${event.emrVersion}`
            : `EMR version ${event.emrVersion} applied`,
          context: { patientId: patient.id, ward: patient.ward, emrVersion: event.emrVersion, created },
          startedAt,
        }),
      },
    ]);
    return created ? 'created' : 'updated';
  }

  private async findByMrn(tx: SqlExecutor, mrn: string, lock: boolean): Promise<Patient | undefined> {
    const { rows } = await tx.query<PatientRow>(
      `SELECT ${PATIENT_COLUMNS} FROM patients WHERE mrn = $1${lock ? ' FOR UPDATE' : ''}`,
      [mrn],
    );
    return rows[0] ? patientFromRow(rows[0]) : undefined;
  }
}
