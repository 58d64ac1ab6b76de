import { validateSync } from 'class-validator';
import { OperationLogEvent } from '@app/contracts';
import { analyticsFactFrom } from './analytics-fact';

const log = (overrides: Partial<OperationLogEvent> = {}): OperationLogEvent =>
  Object.assign(new OperationLogEvent(), {
    service: 'monolith',
    level: 'info',
    operation: 'assessment.recorded',
    message: 'recorded',
    occurredAt: new Date('2026-01-02T03:04:05.000Z'),
    ...overrides,
  });

/** What goes on the wire. */
const payload = (value: object) => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

describe('analytics fact from an operation log', () => {
  it('takes the operation, service, duration and the typed context dimensions', () => {
    const fact = analyticsFactFrom(
      log({ durationMs: 12.5, context: { patientId: 'p-1', ward: '3B', painScore: 8, note: 'x' } }),
      'e-1',
    );
    expect(payload(fact!)).toEqual({
      eventType: 'assessment.recorded',
      service: 'monolith',
      sourceEventId: 'e-1',
      durationMs: 12.5,
      patientId: 'p-1',
      ward: '3B',
      painScore: 8,
      occurredAt: '2026-01-02T03:04:05.000Z',
    });
    expect(validateSync(fact!)).toEqual([]);
  });

  it('leaves out malformed context values and still gives a valid fact', () => {
    for (const context of [
      { patientId: 42, ward: ['3B'], painScore: '8' },
      { patientId: '', ward: 'W'.repeat(51), painScore: 11 },
      { patientId: 'p'.repeat(101), ward: null, painScore: 7.5 },
      { painScore: -1 },
    ]) {
      const fact = analyticsFactFrom(log({ context }), 'e-2')!;
      expect(Object.keys(payload(fact)).sort()).toEqual([
        'eventType',
        'occurredAt',
        'service',
        'sourceEventId',
      ]);
      expect(validateSync(fact)).toEqual([]);
    }
  });

  it('keeps a pain score of zero and works without any context', () => {
    expect(analyticsFactFrom(log({ context: { painScore: 0 } }), 'e-3')?.painScore).toBe(0);
    const fact = analyticsFactFrom(log(), 'e-4')!;
    expect(payload(fact)).not.toHaveProperty('durationMs');
    expect(validateSync(fact)).toEqual([]);
  });

  it('makes no fact when the log id is too long to name as its source', () => {
    expect(analyticsFactFrom(log(), 'x'.repeat(101))).toBeUndefined();
  });
});
