import { EscalationReason, EscalationSeverity } from '@app/contracts';

export interface PainAssessment {
  id: string;
  patientId: string;
  score: number;
  location: string;
  notes: string | null;
  recordedBy: string;
  recordedAt: Date;
}

export interface AssessmentRow {
  id: string;
  patient_id: string;
  score: number;
  location: string;
  notes: string | null;
  recorded_by: string;
  recorded_at: Date | string;
}

export const ASSESSMENT_COLUMNS = 'id, patient_id, score, location, notes, recorded_by, recorded_at';

export function assessmentFromRow(row: AssessmentRow): PainAssessment {
  return {
    id: row.id,
    patientId: row.patient_id,
    score: Number(row.score),
    location: row.location,
    notes: row.notes,
    recordedBy: row.recorded_by,
    recordedAt: new Date(row.recorded_at),
  };
}

export interface Escalation {
  id: string;
  patientId: string;
  severity: EscalationSeverity;
  reasons: EscalationReason[];
  score: number;
  previousScore: number | null;
  /** The triggering assessment first, then the previous one for a rise. */
  assessmentIds: string[];
  raisedAt: Date;
}

export interface EscalationRow {
  id: string;
  patient_id: string;
  severity: EscalationSeverity;
  reasons: EscalationReason[];
  score: number;
  previous_score: number | null;
  assessment_ids: string[];
  raised_at: Date | string;
}

export const ESCALATION_COLUMNS =
  'id, patient_id, severity, reasons, score, previous_score, assessment_ids, raised_at';

export function escalationFromRow(row: EscalationRow): Escalation {
  return {
    id: row.id,
    patientId: row.patient_id,
    severity: row.severity,
    reasons: row.reasons,
    score: Number(row.score),
    previousScore: row.previous_score === null ? null : Number(row.previous_score),
    assessmentIds: row.assessment_ids,
    raisedAt: new Date(row.raised_at),
  };
}
