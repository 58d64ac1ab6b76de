/** The window a query covers when it names neither end: the last 24 hours. */
export const DEFAULT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** A half-open time range [from, to). */
export interface TimeWindow {
  from: Date;
  to: Date;
}

/**
 * Fills in the ends a query left out: `to` defaults to now, `from` to one default span before `to`,
 * so `?to=` alone still means "the 24 hours before to".
 */
export function resolveWindow(
  query: { from?: Date; to?: Date },
  now: Date = new Date(),
  spanMs: number = DEFAULT_WINDOW_MS,
): TimeWindow {
  const to = query.to ?? now;
  const from = query.from ?? new Date(to.getTime() - spanMs);
  return { from, to };
}

/** escalations / assessments, 0 rather than NaN or Infinity when there were no assessments. */
export function escalationRate(assessments: number, escalations: number): number {
  return assessments > 0 ? escalations / assessments : 0;
}
