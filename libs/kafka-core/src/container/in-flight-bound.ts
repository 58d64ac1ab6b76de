import { ListenerDefinition } from '../discovery/listener-definition';

export interface InFlightBound {
  max: number;
  /** Fetching held back at `max` resumes below this. */
  resumeBelow: number;
  /** Checked per record (`maxInFlight`), or per batch (a read-ahead buffer). */
  exact: boolean;
}

/**
 * `maxInFlight` is exact (manual acknowledgments are handed over one for one). A key-ordered
 * listener without it still gets a buffer: its batches return at once, and without a bound a
 * backlog would be read into memory as fast as the broker serves it. Checked per batch, not per
 * record: cutting batches short would make kafkajs fetch the rest again.
 */
export function inFlightBound(definition: ListenerDefinition): InFlightBound | undefined {
  const exact = definition.maxInFlight;
  if (exact !== undefined) return { max: exact, resumeBelow: exact, exact: true };
  if (!definition.concurrency.keyOrdered) return undefined;
  // Enough for kafkajs' refill after a pause (a fetch wait when every partition is paused) not to
  // starve the handlers; capped, since records may be large.
  const max = Math.min(20_000, Math.max(1_000, definition.concurrency.maxInFlight * 256));
  return { max, resumeBelow: max / 2, exact: false };
}
