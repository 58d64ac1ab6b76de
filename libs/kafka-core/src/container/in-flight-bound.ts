import { ListenerDefinition } from '../discovery/listener-definition';

/**
 * `maxInFlight` is exact (manual acknowledgments are handed over one for one). A key-ordered
 * listener without it still gets a buffer: its batches return at once, and without a bound a
 * backlog would be read into memory as fast as the broker serves it.
 */
export function inFlightBound(
  definition: ListenerDefinition,
): { max: number; resumeBelow: number } | undefined {
  if (definition.maxInFlight !== undefined)
    return { max: definition.maxInFlight, resumeBelow: definition.maxInFlight };
  if (!definition.concurrency.keyOrdered) return undefined;
  const max = Math.max(1_000, definition.concurrency.maxInFlight * 16);
  return { max, resumeBelow: max / 2 };
}
