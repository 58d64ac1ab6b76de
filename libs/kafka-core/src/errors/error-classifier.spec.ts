import { DatabaseError } from 'pg';
import { ProduceError } from '../client/kafka-client.port';
import { classify, classifyFailure } from './error-classifier';
import {
  DeserializationError,
  HandlerTimeoutError,
  NonRetryableError,
  PayloadValidationError,
  RetriesExhaustedError,
  UnknownEventTypeError,
} from './kafka-core.errors';

class DuplicateKeyError extends Error {}
class LockTimeoutError extends Error {}
class StrictDuplicateKeyError extends DuplicateKeyError {}

/** Shaped like NestJS's HttpException without importing it. */
class FakeHttpException extends Error {
  constructor(private readonly status: number) {
    super(`HTTP ${status}`);
  }
  getStatus(): number {
    return this.status;
  }
}

function wrap(error: unknown, levels: number): Error {
  let current = error;
  for (let i = 0; i < levels; i++) current = new Error(`wrapper ${i}`, { cause: current });
  return current as Error;
}

describe('classify', () => {
  it('retries plain errors and timeouts', () => {
    expect(classify(new Error('connection reset'))).toBe('retry');
    expect(classify(new HandlerTimeoutError(100))).toBe('retry');
    expect(classify(new RetriesExhaustedError(3, new Error('x')))).toBe('retry');
  });

  it('retries non-Error throwables', () => {
    expect(classify('boom')).toBe('retry');
    expect(classify(42)).toBe('retry');
    expect(classify(undefined)).toBe('retry');
    expect(classify(null)).toBe('retry');
    expect(classify({ message: 'not an error' })).toBe('retry');
  });

  it('fails NonRetryableError and its subclasses', () => {
    expect(classify(new NonRetryableError('no'))).toBe('fail');
    expect(classify(new DeserializationError('t', 0, '1'))).toBe('fail');
    expect(classify(new PayloadValidationError([{ field: 'a', constraints: [] }]))).toBe('fail');
    expect(classify(new UnknownEventTypeError('x'))).toBe('fail');
  });

  it.each([
    ['TypeError', new TypeError('x is not a function')],
    ['ReferenceError', new ReferenceError('y is not defined')],
    ['SyntaxError', new SyntaxError('Unexpected token')],
    ['RangeError', new RangeError('Invalid array length')],
  ])('fails the programming error %s', (_name, error) => {
    expect(classify(error)).toBe('fail');
  });

  it('fails configured non-retryable classes and their subclasses', () => {
    const options = { nonRetryable: [DuplicateKeyError] };
    expect(classify(new DuplicateKeyError('dup'), options)).toBe('fail');
    expect(classify(new StrictDuplicateKeyError('dup'), options)).toBe('fail');
    expect(classify(new LockTimeoutError('lock'), options)).toBe('retry');
    expect(classify(new DuplicateKeyError('dup'))).toBe('retry');
  });

  it.each([400, 404, 422, 499])('fails an HTTP exception with status %p', (status) => {
    expect(classify(new FakeHttpException(status))).toBe('fail');
  });

  it.each([399, 408, 429, 500, 503])('retries an HTTP exception with status %p', (status) => {
    expect(classify(new FakeHttpException(status))).toBe('retry');
  });

  it('ignores getStatus that is not a function, returns a non-number or throws', () => {
    expect(classify(Object.assign(new Error('x'), { getStatus: 400 }))).toBe('retry');
    expect(classify(Object.assign(new Error('x'), { getStatus: () => '400' }))).toBe('retry');
    expect(
      classify(
        Object.assign(new Error('x'), {
          getStatus: () => {
            throw new Error('no status');
          },
        }),
      ),
    ).toBe('retry');
  });

  it('walks the cause chain up to five causes deep', () => {
    const options = { nonRetryable: [DuplicateKeyError] };
    expect(classify(wrap(new DuplicateKeyError('dup'), 1), options)).toBe('fail');
    expect(classify(wrap(new DuplicateKeyError('dup'), 5), options)).toBe('fail');
    expect(classify(wrap(new DuplicateKeyError('dup'), 6), options)).toBe('retry');
    expect(classify(wrap(new NonRetryableError('no'), 3))).toBe('fail');
    expect(classify(wrap(new TypeError('bug'), 2))).toBe('fail');
    expect(classify(wrap(new FakeHttpException(400), 2))).toBe('fail');
    expect(classify(wrap('a string cause', 2))).toBe('retry');
  });

  it('stops on a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(classify(a)).toBe('retry');
  });

  it('lets retryable classes override the defaults and nonRetryable', () => {
    expect(classify(new TypeError('flaky driver'), { retryable: [TypeError] })).toBe('retry');
    expect(
      classify(new DuplicateKeyError('dup'), {
        nonRetryable: [DuplicateKeyError],
        retryable: [DuplicateKeyError],
      }),
    ).toBe('retry');
    expect(
      classify(new StrictDuplicateKeyError('dup'), {
        nonRetryable: [StrictDuplicateKeyError],
        retryable: [DuplicateKeyError],
      }),
    ).toBe('retry');
    class RetryableValidation extends PayloadValidationError {}
    expect(classify(new RetryableValidation([]), { retryable: [RetryableValidation] })).toBe('retry');
    expect(classify(new PayloadValidationError([]), { retryable: [RetryableValidation] })).toBe('fail');
  });

  it('lets a retryable wrapper override a non-retryable cause, and the nearest classified error decide', () => {
    const retryable = [LockTimeoutError];
    expect(classify(new LockTimeoutError('lock', { cause: new TypeError('bug') }), { retryable })).toBe(
      'retry',
    );
    expect(
      classify(wrap(new LockTimeoutError('lock', { cause: new TypeError('bug') }), 2), { retryable }),
    ).toBe('retry');
    expect(
      classify(new NonRetryableError('give up', { cause: new LockTimeoutError('lock') }), { retryable }),
    ).toBe('fail');
  });
});

describe('classifyFailure', () => {
  const dbDown = () =>
    Object.assign(new DatabaseError('the database system is shutting down', 0, 'error'), { code: '57P03' });
  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

  it('says transient for infrastructure failures, in the error or a cause', () => {
    expect(classifyFailure(dbDown())).toBe('transient');
    expect(classifyFailure(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyFailure(new ProduceError('broker gone', true))).toBe('transient');
    expect(classifyFailure(wrap(refused(), 3))).toBe('transient');
  });

  it('keeps the other verdicts of classify', () => {
    expect(classifyFailure(new Error('chart service returned 500'))).toBe('retry');
    expect(classifyFailure(new TypeError('x is not a function'))).toBe('fail');
    expect(classifyFailure(new FakeHttpException(400))).toBe('fail');
    expect(classifyFailure(new PayloadValidationError([{ field: 'mrn', constraints: ['matches'] }]))).toBe(
      'fail',
    );
    expect(classifyFailure('boom')).toBe('retry');
  });

  it('lets a NonRetryableError or a listener nonRetryable class win over an outage it wraps', () => {
    expect(classifyFailure(new NonRetryableError('give up', { cause: dbDown() }))).toBe('fail');
    expect(classifyFailure(wrap(new NonRetryableError('give up', { cause: refused() }), 2))).toBe('fail');
    class ChartRejected extends Error {}
    const options = { nonRetryable: [ChartRejected] };
    expect(classifyFailure(new ChartRejected('no', { cause: refused() }), options)).toBe('fail');
    // Also when the outage is the outer error: the listener's explicit rule is the handler's verdict.
    expect(classifyFailure(Object.assign(new ChartRejected('no'), { code: 'ECONNRESET' }), options)).toBe(
      'fail',
    );
  });

  it('lets a retryable class met first shield a non-retryable cause, leaving the outage rule to decide', () => {
    class LockTimeout extends Error {}
    const options = { retryable: [LockTimeout] };
    expect(
      classifyFailure(
        new LockTimeout('lock', { cause: new NonRetryableError('x', { cause: dbDown() }) }),
        options,
      ),
    ).toBe('transient');
    expect(classifyFailure(new LockTimeout('lock', { cause: new NonRetryableError('x') }), options)).toBe(
      'retry',
    );
  });

  it('lets an outage beat the programming-error rule (fetch failed is a TypeError caused by ECONNREFUSED)', () => {
    expect(classifyFailure(new TypeError('fetch failed', { cause: refused() }))).toBe('transient');
  });
});
