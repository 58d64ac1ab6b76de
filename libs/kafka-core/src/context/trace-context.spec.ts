import { childTraceparent, parseTraceparent } from './trace-context';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function parts(traceparent: string): { traceId: string; spanId: string; flags: string } {
  const match = TRACEPARENT.exec(traceparent);
  if (!match) throw new Error(`not a traceparent: ${traceparent}`);
  return { traceId: match[1], spanId: match[2], flags: match[3] };
}

describe('parseTraceparent', () => {
  it('reads trace id, parent span id and flags of a version-00 traceparent', () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-01`)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      flags: '01',
    });
    expect(parseTraceparent(`  00-${TRACE_ID}-${SPAN_ID}-00\n`)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      flags: '00',
    });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['garbage', 'not-a-traceparent'],
    ['another version', `01-${TRACE_ID}-${SPAN_ID}-01`],
    ['upper-case hex', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['a short trace id', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a long span id', `00-${TRACE_ID}-${SPAN_ID}0-01`],
    ['trailing fields', `00-${TRACE_ID}-${SPAN_ID}-01-extra`],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
  ])('rejects %s', (_, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });
});

describe('childTraceparent', () => {
  it.each(['01', '00'])('continues a valid parent: same trace id and flags (%s), a new span id', (flags) => {
    const parent = `00-${TRACE_ID}-${SPAN_ID}-${flags}`;
    const children = Array.from({ length: 20 }, () => childTraceparent(parent));
    for (const child of children) {
      const { traceId, spanId, flags: childFlags } = parts(child);
      expect(traceId).toBe(TRACE_ID);
      expect(childFlags).toBe(flags);
      expect(spanId).not.toBe(SPAN_ID);
      expect(spanId).not.toBe('0'.repeat(16));
    }
    // Siblings are distinct spans.
    expect(new Set(children).size).toBe(children.length);
  });

  it.each([
    ['no parent', undefined],
    ['an invalid parent', 'garbage'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-${SPAN_ID}-00`],
    ['an all-zero span id', `00-${TRACE_ID}-${'0'.repeat(16)}-00`],
  ])('starts a new sampled trace for %s', (_, parent) => {
    const roots = Array.from({ length: 20 }, () => parts(childTraceparent(parent)));
    for (const root of roots) {
      expect(root.flags).toBe('01');
      expect(root.traceId).not.toBe(TRACE_ID);
      expect(root.traceId).not.toBe('0'.repeat(32));
      expect(root.spanId).not.toBe('0'.repeat(16));
      // What it makes must itself be accepted as a parent downstream.
      expect(parseTraceparent(`00-${root.traceId}-${root.spanId}-${root.flags}`)).toEqual(root);
    }
    expect(new Set(roots.map((r) => r.traceId)).size).toBe(roots.length);
  });
});
