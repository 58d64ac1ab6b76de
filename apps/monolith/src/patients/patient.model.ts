export const PATIENT_SEXES = ['female', 'male', 'other', 'unknown'] as const;

export interface Allergy {
  substance: string;
  reaction?: string;
}

export interface Medication {
  name: string;
  dose?: string;
}

export interface Patient {
  id: string;
  mrn: string;
  givenName: string;
  familyName: string;
  /** ISO date, e.g. 1961-04-12. */
  birthDate: string;
  sex: string | null;
  ward: string | null;
  allergies: Allergy[];
  medications: Medication[];
  /** The EMR version last applied; null when the EMR never sent this patient. */
  emrVersion: number | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface PatientRow {
  id: string;
  mrn: string;
  given_name: string;
  family_name: string;
  birth_date: string;
  sex: string | null;
  ward: string | null;
  allergies: Allergy[] | string;
  medications: Medication[] | string;
  emr_version: number | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** Selected or returned columns; the birth date as text, so no driver turns it into a local midnight. */
export const PATIENT_COLUMNS = `id, mrn, given_name, family_name, birth_date::text AS birth_date, sex, ward,
  allergies, medications, emr_version, created_at, updated_at`;

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

export function patientFromRow(row: PatientRow): Patient {
  return {
    id: row.id,
    mrn: row.mrn,
    givenName: row.given_name,
    familyName: row.family_name,
    birthDate: row.birth_date,
    sex: row.sex,
    ward: row.ward,
    allergies: json(row.allergies),
    medications: json(row.medications),
    emrVersion: row.emr_version === null ? null : Number(row.emr_version),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** The audited state of a patient: everything but the bookkeeping timestamps. */
export function patientState(patient: Patient): Record<string, unknown> {
  const { createdAt: _created, updatedAt: _updated, ...state } = patient;
  return state;
}
