import { readSettings } from '@app/platform';

export const MONOLITH_SETTINGS = Symbol('MONOLITH_SETTINGS');

export interface MonolithSettings {
  /** A pain score at or above this escalates. */
  painEscalationThreshold: number;
  /** A rise of at least this much since the patient's previous assessment escalates. */
  painEscalationRise: number;
}

export function readMonolithSettings(env: NodeJS.ProcessEnv): MonolithSettings {
  return readSettings('monolith', env, (r) => ({
    painEscalationThreshold: r.int('PAIN_ESCALATION_THRESHOLD', 7, 0, 10),
    painEscalationRise: r.int('PAIN_ESCALATION_RISE', 3, 1, 10),
  }));
}
