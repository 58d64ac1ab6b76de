import { EscalationReason, EscalationSeverity } from '@app/contracts';

export interface EscalationRule {
  /** A score at or above this escalates. */
  threshold: number;
  /** A rise of at least this much since the previous assessment escalates. */
  rise: number;
}

export interface EscalationDecision {
  severity: EscalationSeverity;
  reasons: EscalationReason[];
}

/** Scores from here on are critical whatever the configured threshold. */
export const CRITICAL_SCORE = 9;

/**
 * Whether a new pain score escalates, given the patient's previous score (null for a first
 * assessment): at or above the threshold, or risen by at least `rise`. Severity: critical from 9,
 * high when the threshold was reached, moderate for a rise alone.
 */
export function evaluateEscalation(
  score: number,
  previousScore: number | null,
  rule: EscalationRule,
): EscalationDecision | null {
  const reasons: EscalationReason[] = [];
  if (score >= rule.threshold) reasons.push('threshold');
  if (previousScore !== null && score - previousScore >= rule.rise) reasons.push('rise');
  if (reasons.length === 0) return null;
  const severity: EscalationSeverity =
    score >= CRITICAL_SCORE ? 'critical' : reasons.includes('threshold') ? 'high' : 'moderate';
  return { severity, reasons };
}
