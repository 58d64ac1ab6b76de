import { DEFAULT_WINDOW_MS, escalationRate, resolveWindow } from './time-window';

describe('resolveWindow', () => {
  const now = new Date('2020-05-17T12:34:56.789Z');

  it('covers the last 24 hours when neither end is given', () => {
    expect(resolveWindow({}, now)).toEqual({ from: new Date('2020-05-16T12:34:56.789Z'), to: now });
    expect(DEFAULT_WINDOW_MS).toBe(86_400_000);
  });

  it('ends now when only from is given', () => {
    const from = new Date('2020-05-01T00:00:00Z');
    expect(resolveWindow({ from }, now)).toEqual({ from, to: now });
  });

  it('starts one span before to when only to is given', () => {
    const to = new Date('2020-03-01T06:00:00Z');
    expect(resolveWindow({ to }, now)).toEqual({ from: new Date('2020-02-29T06:00:00Z'), to });
    expect(resolveWindow({ to }, now, 60_000)).toEqual({ from: new Date('2020-03-01T05:59:00Z'), to });
  });

  it('keeps both ends when both are given', () => {
    const from = new Date('2019-01-01T00:00:00Z');
    const to = new Date('2021-01-01T00:00:00Z');
    expect(resolveWindow({ from, to }, now)).toEqual({ from, to });
  });
});

describe('escalationRate', () => {
  it('is escalations per assessment', () => {
    expect(escalationRate(8, 2)).toBe(0.25);
    expect(escalationRate(3, 3)).toBe(1);
  });

  it('is 0 when nothing was assessed', () => {
    expect(escalationRate(0, 0)).toBe(0);
    expect(escalationRate(0, 4)).toBe(0);
  });
});
