import { DatabaseError } from 'pg';
import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSProtocolError } from 'kafkajs';
import { ProduceError } from '../client/kafka-client.port';
import { PublishTimeoutError } from '../producer/record-accumulator';
import { isTransientError } from './transient-errors';

/** pg's error for a server-side failure, with its SQLSTATE, as the driver builds it. */
function pgError(code: string, message = 'server says no'): DatabaseError {
  const error = new DatabaseError(message, 0, 'error');
  error.code = code;
  return error;
}

/** Node's error for a failed socket operation (`code` and `syscall`, like net and dns set them). */
function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, syscall: 'connect' });
}

describe('isTransientError', () => {
  it.each([
    '08000',
    '08001',
    '08003',
    '08006',
    '08P01',
    '57P01',
    '57P02',
    '57P03',
    '53300',
    '40001',
    '40P01',
  ])('treats SQLSTATE %s as an outage', (code) => expect(isTransientError(pgError(code))).toBe(true));

  it.each([
    ['23505', 'unique violation'],
    ['23502', 'not null violation'],
    ['22P02', 'invalid text representation'],
    ['42P01', 'undefined table'],
    ['53200', 'out of memory (not a connection limit)'],
    ['57014', 'query canceled (statement timeout)'],
  ])('leaves SQLSTATE %s (%s) to the other rules', (code) => {
    expect(isTransientError(pgError(code))).toBe(false);
  });

  it.each([
    'Connection terminated',
    'Connection terminated unexpectedly',
    'Connection terminated due to connection timeout',
    'timeout exceeded when trying to connect',
    'Client has encountered a connection error and is not queryable',
  ])('treats pg\'s "%s" as an outage', (message) => {
    expect(isTransientError(new Error(message))).toBe(true);
  });

  it('does not match those words inside other messages', () => {
    expect(isTransientError(new Error('Connection terminated by the patient record being invalid x'))).toBe(
      false,
    );
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])(
    'treats the network error %s as an outage',
    (code) => expect(isTransientError(systemError(code))).toBe(true),
  );

  it('treats an AggregateError of refused connections (Node trying several addresses) as an outage', () => {
    const error = new AggregateError([systemError('ECONNREFUSED'), systemError('ECONNREFUSED')], '');
    expect(isTransientError(error)).toBe(true);
    expect(isTransientError(new AggregateError([new Error('a'), new Error('b')], ''))).toBe(false);
  });

  it("follows Kafka's retriable flag: kafkajs errors and the port's ProduceError", () => {
    expect(isTransientError(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))).toBe(true);
    expect(
      isTransientError(
        new KafkaJSProtocolError({
          type: 'NOT_LEADER_OR_FOLLOWER',
          code: 6,
          retriable: true,
          message: 'x',
        } as never),
      ),
    ).toBe(true);
    expect(isTransientError(new ProduceError('broker unreachable', true))).toBe(true);
    expect(isTransientError(new ProduceError('record too large', false))).toBe(false);
    expect(isTransientError(new KafkaJSNonRetriableError('invalid record'))).toBe(false);
  });

  it('treats our publish timeout as an outage', () => {
    expect(isTransientError(new PublishTimeoutError(30_000, 2))).toBe(true);
  });

  it('looks through causes, five deep like classify', () => {
    let error: unknown = pgError('57P01');
    for (let i = 0; i < 5; i++) error = new Error(`wrapper ${i}`, { cause: error });
    expect(isTransientError(error)).toBe(true);
    expect(isTransientError(new Error('one more', { cause: error }))).toBe(false);
  });

  it('is false for handler errors and non-errors', () => {
    expect(isTransientError(new Error('chart service returned 500'))).toBe(false);
    expect(isTransientError(new TypeError('x is not a function'))).toBe(false);
    expect(isTransientError('ECONNREFUSED')).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
    expect(isTransientError(null)).toBe(false);
  });
});
