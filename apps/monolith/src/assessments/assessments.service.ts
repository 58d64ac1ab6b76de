import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PainEscalationEvent } from '@app/contracts';
import { Database, InjectDatabase } from '@app/database';
import { KafkaOutbox, OutboxEntry } from '@app/kafka-core';
import { auditEvent, operationLog } from '../common/change-events';
import { RequestMeta } from '@app/platform';
import { MONOLITH_SETTINGS, MonolithSettings } from '../monolith.settings';
import { PatientsService } from '../patients/patients.service';
import { RecordAssessmentDto } from './assessment.dto';
import {
  ASSESSMENT_COLUMNS,
  assessmentFromRow,
  AssessmentRow,
  Escalation,
  ESCALATION_COLUMNS,
  escalationFromRow,
  EscalationRow,
  PainAssessment,
} from './assessment.model';
import { evaluateEscalation } from './escalation-rule';

export interface RecordedAssessment {
  assessment: PainAssessment;
  escalation: Escalation | null;
}

@Injectable()
export class AssessmentsService {
  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly outbox: KafkaOutbox,
    private readonly patients: PatientsService,
    @Inject(MONOLITH_SETTINGS) private readonly settings: MonolithSettings,
  ) {}

  /**
   * Records an assessment and, when the rule says so, its escalation, with their events, in one
   * transaction. The patient row stays locked until commit, so concurrent assessments of one patient
   * take turns and each compares against the one committed before it.
   */
  async record(patientId: string, dto: RecordAssessmentDto, meta: RequestMeta): Promise<RecordedAssessment> {
    return this.db.transaction(async (tx) => {
      const patient = await this.patients.lock(tx, patientId);
      // Taken after the lock from the database's clock: a default time then follows every assessment
      // committed before, whichever instance recorded it.
      const recordedAt =
        dto.recordedAt ??
        (await tx
          .query<{ now: Date | string }>('SELECT clock_timestamp() AS now')
          .then(({ rows }) => new Date(rows[0].now)));
      const previous = await tx.query<{ id: string; score: number }>(
        `SELECT id, score FROM pain_assessments
          WHERE patient_id = $1 AND recorded_at <= $2
          ORDER BY recorded_at DESC, seq DESC
          LIMIT 1`,
        [patientId, recordedAt],
      );
      const { rows } = await tx.query<AssessmentRow>(
        `INSERT INTO pain_assessments (id, patient_id, score, location, notes, recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING ${ASSESSMENT_COLUMNS}`,
        [randomUUID(), patientId, dto.score, dto.location, dto.notes ?? null, dto.recordedBy, recordedAt],
      );
      const assessment = assessmentFromRow(rows[0]);
      const before = previous.rows[0]
        ? { id: previous.rows[0].id, score: Number(previous.rows[0].score) }
        : null;
      const context = { patientId, ward: patient.ward, painScore: assessment.score };
      const events: OutboxEntry[] = [
        {
          event: auditEvent({
            streamId: `PainAssessment/${assessment.id}`,
            eventType: 'assessment.recorded',
            action: 'C',
            actor: meta.actor,
            purpose: 'treatment',
            patientId,
            data: { ...assessment },
          }),
        },
        {
          event: operationLog({
            operation: 'assessment.recorded',
            message: 'Pain assessment recorded',
            context,
            startedAt: meta.startedAt,
          }),
        },
      ];

      const decision = evaluateEscalation(assessment.score, before?.score ?? null, {
        threshold: this.settings.painEscalationThreshold,
        rise: this.settings.painEscalationRise,
      });
      let escalation: Escalation | null = null;
      if (decision) {
        const assessmentIds =
          decision.reasons.includes('rise') && before ? [assessment.id, before.id] : [assessment.id];
        const inserted = await tx.query<EscalationRow>(
          `INSERT INTO escalations (id, patient_id, assessment_id, severity, reasons, score, previous_score,
                                    assessment_ids, raised_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
           RETURNING ${ESCALATION_COLUMNS}`,
          [
            randomUUID(),
            patientId,
            assessment.id,
            decision.severity,
            decision.reasons,
            assessment.score,
            before?.score ?? null,
            assessmentIds,
          ],
        );
        escalation = escalationFromRow(inserted.rows[0]);
        events.push(
          {
            event: Object.assign(new PainEscalationEvent(), {
              escalationId: escalation.id,
              patientId,
              ward: patient.ward ?? undefined,
              severity: escalation.severity,
              reasons: escalation.reasons,
              score: escalation.score,
              previousScore: escalation.previousScore ?? undefined,
              assessmentIds: escalation.assessmentIds,
              raisedAt: escalation.raisedAt,
            }),
          },
          {
            event: auditEvent({
              streamId: `Escalation/${escalation.id}`,
              eventType: 'pain.escalated',
              action: 'C',
              actor: meta.actor,
              purpose: 'treatment',
              patientId,
              data: { ...escalation },
            }),
          },
          {
            event: operationLog({
              operation: 'pain.escalated',
              level: 'warn',
              message: `Pain escalated (${escalation.severity}: ${escalation.reasons.join(', ')})`,
              context: { ...context, severity: escalation.severity },
              startedAt: meta.startedAt,
            }),
          },
        );
      }
      await this.outbox.enqueueAll(
        tx,
        events.map((entry) => ({ ...entry, options: { correlationId: meta.correlationId } })),
      );
      return { assessment, escalation };
    });
  }

  /** Newest first (by when the patient was assessed); 404 for an unknown patient. */
  async list(patientId: string, limit: number): Promise<PainAssessment[]> {
    await this.patients.get(patientId);
    const { rows } = await this.db.query<AssessmentRow>(
      `SELECT ${ASSESSMENT_COLUMNS} FROM pain_assessments WHERE patient_id = $1
        ORDER BY recorded_at DESC, seq DESC LIMIT $2`,
      [patientId, limit],
    );
    return rows.map(assessmentFromRow);
  }

  async escalations(patientId: string, limit: number): Promise<Escalation[]> {
    await this.patients.get(patientId);
    const { rows } = await this.db.query<EscalationRow>(
      `SELECT ${ESCALATION_COLUMNS} FROM escalations WHERE patient_id = $1
        ORDER BY raised_at DESC, id LIMIT $2`,
      [patientId, limit],
    );
    return rows.map(escalationFromRow);
  }
}
