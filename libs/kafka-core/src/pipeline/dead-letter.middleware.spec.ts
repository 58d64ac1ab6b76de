import { OutgoingRecord } from '../client/kafka-client.port';
import { PayloadValidationError } from '../errors/kafka-core.errors';
import { deadLetterMiddleware, deadLetterRecord, DLT_HEADERS } from './dead-letter.middleware';
import { parseJson, toPayload } from './deserialize.middleware';
import { IsString, Matches } from 'class-validator';
import { fakeListener, fakeMessage, fakeRecord } from '../testing/pipeline-fakes';

describe('deadLetterMiddleware', () => {
  const published: { topic: string; record: OutgoingRecord }[] = [];
  const publish = async (topic: string, record: OutgoingRecord) => void published.push({ topic, record });
  beforeEach(() => (published.length = 0));

  it('leaves successes alone', async () => {
    const handler = deadLetterMiddleware(publish)(async () => ({ status: 'success' }));
    await expect(handler(fakeMessage())).resolves.toEqual({ status: 'success' });
    expect(published).toHaveLength(0);
  });

  it('publishes the original bytes to <topic>-dlq on the same partition with provenance', async () => {
    const record = fakeRecord();
    const message = {
      ...fakeMessage(fakeListener(), record, 3),
      firstFailureAt: new Date('2026-01-01T00:00:00Z'),
    };
    const error = new Error('line one\nline two\u0007' + 'x'.repeat(2_000));
    const handler = deadLetterMiddleware(publish)(async () => Promise.reject(error));

    await expect(handler(message)).resolves.toMatchObject({ status: 'dead-lettered', topic: 'orders-dlq' });
    const [{ topic, record: dead }] = published;
    expect(topic).toBe('orders-dlq');
    expect(dead.key).toBe(record.key);
    expect(dead.value).toBe(record.value);
    expect(dead.partition).toBe(2);
    const headers = dead.headers ?? {};
    expect(headers['event-id']).toBe('e-1');
    expect(headers).toMatchObject({
      [DLT_HEADERS.originalTopic]: 'orders',
      [DLT_HEADERS.originalPartition]: '2',
      [DLT_HEADERS.originalOffset]: '41',
      [DLT_HEADERS.originalTimestamp]: '1700000000000',
      [DLT_HEADERS.group]: 'g1',
      [DLT_HEADERS.listener]: 'orders-listener',
      [DLT_HEADERS.attempts]: '3',
      [DLT_HEADERS.firstFailureAt]: '2026-01-01T00:00:00.000Z',
      [DLT_HEADERS.errorClass]: 'Error',
    });
    expect(headers[DLT_HEADERS.errorMessage]).toMatch(/^line one line two x+$/);
    expect(headers[DLT_HEADERS.errorMessage].length).toBe(512);
    expect(headers[DLT_HEADERS.stackTrace]).toBeUndefined();
    expect(Date.parse(headers[DLT_HEADERS.lastFailureAt])).toBeGreaterThanOrEqual(Date.parse('2026-01-01'));
  });

  it('adds validation errors as JSON, and the stack trace only when configured', async () => {
    const error = new PayloadValidationError([{ field: 'id', constraints: ['min'] }]);
    await deadLetterMiddleware(publish, { includeStackTrace: true })(async () => Promise.reject(error))(
      fakeMessage(),
    );
    const headers = published[0].record.headers ?? {};
    expect(JSON.parse(headers[DLT_HEADERS.validationErrors])).toEqual([
      { field: 'id', constraints: ['min'] },
    ]);
    expect(headers[DLT_HEADERS.errorClass]).toBe('PayloadValidationError');
    expect(headers[DLT_HEADERS.stackTrace]).toContain('PayloadValidationError');
  });

  it('sends to an explicit topic without pinning the partition', async () => {
    const listener = fakeListener({ deadLetter: 'parking-lot' });
    await deadLetterMiddleware(publish)(async () => Promise.reject(new Error('x')))(fakeMessage(listener));
    expect(published[0].topic).toBe('parking-lot');
    expect(published[0].record.partition).toBeUndefined();
  });

  it('skips without publishing when dead-lettering is off', async () => {
    const listener = fakeListener({ deadLetter: false });
    const error = new Error('x');
    await expect(
      deadLetterMiddleware(publish)(async () => Promise.reject(error))(fakeMessage(listener)),
    ).resolves.toEqual({
      status: 'skipped',
      error,
    });
    expect(published).toHaveLength(0);
  });

  it('propagates a failed publish so the offset is not committed', async () => {
    const broken = async () => Promise.reject(new Error('broker down'));
    await expect(
      deadLetterMiddleware(broken)(async () => Promise.reject(new Error('x')))(fakeMessage()),
    ).rejects.toThrow('broker down');
  });

  describe('no part of the value in any header', () => {
    const PATIENT_DATA = ['Maria', 'Lopez', 'MRN-123456'];
    const provenance = { groupId: 'g1', listenerId: 'l1', attempts: 1, samePartition: true };
    const leaks = (headers: Record<string, string> = {}) =>
      Object.entries(headers).filter(([, v]) =>
        PATIENT_DATA.some((p) => v.toLowerCase().includes(p.toLowerCase())),
      );

    class Patient {
      @IsString() name!: string;
      @Matches(/^P-\d+$/) mrn!: string;
    }

    async function failureOf(work: () => unknown): Promise<Error> {
      try {
        await work();
      } catch (error) {
        return error as Error;
      }
      throw new Error('no failure');
    }

    it('a value that is not JSON', async () => {
      const record = fakeRecord({ value: Buffer.from('this is not json: Maria Lopez MRN-123456') });
      const error = await failureOf(() => parseJson(record));
      const { headers } = deadLetterRecord(record, error, provenance, { includeStackTrace: true });
      expect(leaks(headers)).toEqual([]);
      // "not " and "json" are in the value too: the rule removes any shared stretch, words included.
      expect(headers?.[DLT_HEADERS.errorMessage]).toBe(
        `Can…deserialize record orders-2@41: Unexpected token '…', "…"...…valid…`,
      );
      expect(headers?.[DLT_HEADERS.stackTrace]).toMatch(
        /^DeserializationError: Can…deserialize record orders-2@41: .* at parse… \(/,
      );
    });

    it('a JSON value failing validation, the name in a field', async () => {
      const record = fakeRecord({ value: Buffer.from('{"name":"Maria Lopez","mrn":"MRN-123456"}') });
      const error = await failureOf(() => toPayload(parseJson(record), Patient));
      const { headers } = deadLetterRecord(record, error, provenance, { includeStackTrace: true });
      expect(leaks(headers)).toEqual([]);
      expect(JSON.parse(headers?.[DLT_HEADERS.validationErrors] ?? '')).toEqual([
        { field: 'mrn', constraints: ['matches'] },
      ]);
    });

    it('a handler error echoing the value, with or without quotes', async () => {
      const record = fakeRecord({
        value: Buffer.from('{"name":"Maria Lopez","mrn":"MRN-123456"}'),
        key: Buffer.from('MRN-123456'),
      });
      const error = new Error('no chart for Maria Lopez (MRN-123456), "Maria" unknown');
      const { headers } = deadLetterRecord(record, error, provenance, { includeStackTrace: true });
      expect(leaks(headers)).toEqual([]);
      expect(headers?.[DLT_HEADERS.errorMessage]).toBe('no chart for … (…), "…" unknown');
    });
  });
});
