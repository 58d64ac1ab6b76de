import { randomFillSync } from 'node:crypto';

// W3C Trace Context, version 00: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

// Ids come from a pool refilled 4 KiB at a time: one random syscall per record would cost more than
// the rest of the envelope together.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

export interface TraceContext {
  traceId: string;
  spanId: string;
  flags: string;
}

export function parseTraceparent(value: string | undefined): TraceContext | undefined {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match || match[1] === ZERO_TRACE || match[2] === ZERO_SPAN) return undefined;
  return { traceId: match[1], spanId: match[2], flags: match[3] };
}

/**
 * A `traceparent` for a new record: a child span of the incoming trace when there is one (same trace
 * id and flags), otherwise the root of a new sampled trace.
 */
export function childTraceparent(parent: string | undefined): string {
  const trace = parseTraceparent(parent);
  const spanId = randomHex(8);
  if (trace) return `00-${trace.traceId}-${spanId}-${trace.flags}`;
  return `00-${randomHex(16)}-${spanId}-01`;
}
