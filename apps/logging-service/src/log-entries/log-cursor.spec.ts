import { decodeLogCursor, encodeLogCursor } from './log-cursor';

describe('log cursor', () => {
  it('round-trips the time to the microsecond and the event id', () => {
    const cursor = {
      occurredAt: '2026-01-02T03:04:05.123456Z',
      eventId: '0190a000-0000-7000-8000-000000000001',
    };
    const text = encodeLogCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeLogCursor(text)).toEqual(cursor);
  });

  it('refuses what it did not issue', () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const text of [
      'not base64!',
      encode({ occurredAt: '2026-01-02T03:04:05Z', eventId: 'x' }),
      encode(['2026-01-02 03:04:05', 'x']),
      encode(['2026-13-45T03:04:05Z', 'x']),
      encode(['2026-01-02T03:04:05Z', '']),
      encode(['2026-01-02T03:04:05Z', 7]),
      Buffer.from('[1,').toString('base64url'),
      'A'.repeat(1001),
    ]) {
      expect(decodeLogCursor(text)).toBeUndefined();
    }
  });
});
