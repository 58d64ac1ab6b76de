import { TRANSIENT_BACKOFF } from '../discovery/listener-definition';
import { BackoffOptions, DEFAULT_BACKOFF, nextDelay, transientDelay, validateBackoff } from './backoff';

const noJitter: BackoffOptions = {
  attempts: 10,
  initialDelayMs: 200,
  multiplier: 2,
  maxDelayMs: 3000,
  jitter: 0,
};

describe('nextDelay', () => {
  it('grows exponentially from the initial delay and caps at maxDelayMs', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((failed) => nextDelay(noJitter, failed));
    expect(delays).toEqual([200, 400, 800, 1600, 3000, 3000]);
  });

  it('is undefined once the failed attempts reach the total attempts', () => {
    const o = { ...noJitter, attempts: 3 };
    expect(nextDelay(o, 2)).toBe(400);
    expect(nextDelay(o, 3)).toBeUndefined();
    expect(nextDelay(o, 4)).toBeUndefined();
    expect(nextDelay({ ...o, attempts: 1 }, 1)).toBeUndefined();
  });

  it('the defaults allow two retries, 200 ms apart then 400 ms, give or take 20 %', () => {
    const mid = () => 0.5;
    expect(nextDelay(DEFAULT_BACKOFF, 1, mid)).toBe(200);
    expect(nextDelay(DEFAULT_BACKOFF, 2, mid)).toBe(400);
    expect(nextDelay(DEFAULT_BACKOFF, 3, mid)).toBeUndefined();
  });

  it('scales by a jitter factor between 1 - jitter and 1 + jitter', () => {
    const o = { ...noJitter, jitter: 0.25 };
    expect(nextDelay(o, 2, () => 0)).toBe(300);
    expect(nextDelay(o, 2, () => 1)).toBe(500);
    expect(nextDelay(o, 2, () => 0.5)).toBe(400);
  });

  it('caps the jittered delay at maxDelayMs and never goes negative', () => {
    expect(nextDelay({ ...noJitter, jitter: 0.5 }, 6, () => 1)).toBe(3000);
    expect(nextDelay({ ...noJitter, jitter: 1 }, 1, () => 0)).toBe(0);
  });

  it('rounds to whole milliseconds', () => {
    expect(nextDelay({ ...noJitter, initialDelayMs: 100, multiplier: 1.5 }, 2)).toBe(150);
    expect(nextDelay({ ...noJitter, initialDelayMs: 100, multiplier: 1.5 }, 3)).toBe(225);
    expect(nextDelay({ ...noJitter, initialDelayMs: 101, jitter: 0.1 }, 1, () => 0.123)).toBe(93);
  });

  it('survives huge attempt counts without overflowing past the cap', () => {
    expect(nextDelay({ ...noJitter, attempts: 10_000 }, 5000)).toBe(3000);
  });

  it.each([0, -1, 1.5])('refuses %p failed attempts', (failed) => {
    expect(() => nextDelay(noJitter, failed)).toThrow(RangeError);
  });
});

describe('validateBackoff', () => {
  it('accepts the defaults', () => {
    expect(validateBackoff(DEFAULT_BACKOFF)).toEqual([]);
  });

  it('names every problem', () => {
    expect(
      validateBackoff({ attempts: 0, initialDelayMs: -1, multiplier: 0.5, maxDelayMs: -5, jitter: 1.5 }),
    ).toEqual([
      'attempts must be an integer >= 1 (got 0)',
      'initialDelayMs must be a finite number >= 0 (got -1)',
      'maxDelayMs must be a finite number >= 0 (got -5)',
      'multiplier must be a finite number >= 1 (got 0.5)',
      'jitter must be between 0 and 1 (got 1.5)',
    ]);
  });

  it('refuses a cap below the initial delay', () => {
    expect(validateBackoff({ ...DEFAULT_BACKOFF, initialDelayMs: 500, maxDelayMs: 100 })).toEqual([
      'maxDelayMs must be >= initialDelayMs (got maxDelayMs 100 < initialDelayMs 500)',
    ]);
  });

  it.each([
    ['fractional attempts', { attempts: 2.5 }, 'attempts must be an integer >= 1 (got 2.5)'],
    [
      'NaN initial delay',
      { initialDelayMs: Number.NaN },
      'initialDelayMs must be a finite number >= 0 (got NaN)',
    ],
    ['negative jitter', { jitter: -0.1 }, 'jitter must be between 0 and 1 (got -0.1)'],
    [
      'infinite multiplier',
      { multiplier: Infinity },
      'multiplier must be a finite number >= 1 (got Infinity)',
    ],
  ])('refuses %s', (_label, patch, message) => {
    expect(validateBackoff({ ...DEFAULT_BACKOFF, ...patch })).toEqual([message]);
  });

  it('accepts the boundary values', () => {
    expect(
      validateBackoff({ attempts: 1, initialDelayMs: 0, multiplier: 1, maxDelayMs: 0, jitter: 1 }),
    ).toEqual([]);
  });
});

describe('transientDelay', () => {
  const transient = { initialDelayMs: 500, multiplier: 2, maxDelayMs: 30_000, jitter: 0 };

  it('follows the exponential curve, capped, and never runs out', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 100, 10_000].map((n) => transientDelay(transient, n))).toEqual([
      500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('stays within the jitter band and under the cap', () => {
    const jittered = { ...transient, jitter: 0.2 };
    expect(transientDelay(jittered, 1, () => 0)).toBe(400);
    expect(transientDelay(jittered, 1, () => 0.999999)).toBe(600);
    expect(transientDelay(jittered, 50, () => 0.999999)).toBe(30_000);
  });

  it('answers for any attempt count, even ones nextDelay refuses', () => {
    expect(transientDelay(transient, 0)).toBe(500);
    expect(transientDelay(transient, -3)).toBe(500);
    expect(transientDelay(transient, Number.NaN)).toBe(500);
    expect(transientDelay(transient, 2.7)).toBe(1_000);
    expect(transientDelay({ ...transient, initialDelayMs: 0 }, 5_000)).toBe(0);
  });

  it('uses the listener default: half a second up to 30 s', () => {
    expect(transientDelay(TRANSIENT_BACKOFF, 1, () => 0.5)).toBe(500);
    expect(transientDelay(TRANSIENT_BACKOFF, 20, () => 0.5)).toBe(30_000);
  });
});
