import { evaluateEscalation } from './escalation-rule';

describe('pain escalation rule', () => {
  const rule = { threshold: 7, rise: 3 };

  it('does not escalate a first assessment below the threshold', () => {
    expect(evaluateEscalation(6, null, rule)).toBeNull();
    expect(evaluateEscalation(0, null, rule)).toBeNull();
  });

  it('escalates at the threshold as high, and from 9 on as critical', () => {
    expect(evaluateEscalation(7, null, rule)).toEqual({ severity: 'high', reasons: ['threshold'] });
    expect(evaluateEscalation(8, 7, rule)).toEqual({ severity: 'high', reasons: ['threshold'] });
    expect(evaluateEscalation(9, 8, rule)).toEqual({ severity: 'critical', reasons: ['threshold'] });
    expect(evaluateEscalation(10, null, rule)).toEqual({ severity: 'critical', reasons: ['threshold'] });
  });

  it('escalates a rise of at least the configured size below the threshold as moderate', () => {
    expect(evaluateEscalation(5, 2, rule)).toEqual({ severity: 'moderate', reasons: ['rise'] });
    expect(evaluateEscalation(6, 0, rule)).toEqual({ severity: 'moderate', reasons: ['rise'] });
  });

  it('does not escalate a smaller rise, a steady score or a fall below the threshold', () => {
    expect(evaluateEscalation(4, 2, rule)).toBeNull();
    expect(evaluateEscalation(5, 5, rule)).toBeNull();
    expect(evaluateEscalation(1, 6, rule)).toBeNull();
  });

  it('names both reasons when a rise also crosses the threshold', () => {
    expect(evaluateEscalation(8, 4, rule)).toEqual({ severity: 'high', reasons: ['threshold', 'rise'] });
    expect(evaluateEscalation(10, 2, rule)).toEqual({ severity: 'critical', reasons: ['threshold', 'rise'] });
  });

  it('keeps escalating a score that stays at or above the threshold', () => {
    expect(evaluateEscalation(7, 9, rule)).toEqual({ severity: 'high', reasons: ['threshold'] });
  });

  it('follows the configured threshold and rise', () => {
    const strict = { threshold: 5, rise: 1 };
    expect(evaluateEscalation(5, null, strict)).toEqual({ severity: 'high', reasons: ['threshold'] });
    expect(evaluateEscalation(3, 2, strict)).toEqual({ severity: 'moderate', reasons: ['rise'] });
    const lenient = { threshold: 10, rise: 10 };
    expect(evaluateEscalation(9, 1, lenient)).toBeNull();
    expect(evaluateEscalation(10, 0, lenient)).toEqual({
      severity: 'critical',
      reasons: ['threshold', 'rise'],
    });
  });

  it('calls a score of 9 reached by a rise alone critical', () => {
    expect(evaluateEscalation(9, 5, { threshold: 10, rise: 3 })).toEqual({
      severity: 'critical',
      reasons: ['rise'],
    });
  });
});
