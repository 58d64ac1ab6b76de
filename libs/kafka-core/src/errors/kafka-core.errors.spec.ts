import {
  DeserializationError,
  HandlerTimeoutError,
  NonRetryableError,
  PayloadValidationError,
  RetriesExhaustedError,
  UnknownEventTypeError,
} from './kafka-core.errors';

describe('kafka-core errors', () => {
  it('NonRetryableError keeps its message and optional cause', () => {
    const cause = new Error('db down');
    const error = new NonRetryableError('give up', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.name).toBe('NonRetryableError');
    expect(error.message).toBe('give up');
    expect(error.cause).toBe(cause);
    expect(new NonRetryableError('no cause').cause).toBeUndefined();
  });

  it('DeserializationError names the record and is not retryable', () => {
    const cause = new SyntaxError('Unexpected token }');
    const error = new DeserializationError('orders', 2, '41', cause);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toBeInstanceOf(DeserializationError);
    expect(error.name).toBe('DeserializationError');
    expect([error.topic, error.partition, error.offset]).toEqual(['orders', 2, '41']);
    expect(error.message).toBe('Cannot deserialize record orders-2@41: Unexpected token }');
    expect(error.cause).toBe(cause);
    expect(new DeserializationError('orders', 0, '7').message).toBe('Cannot deserialize record orders-0@7');
  });

  it("DeserializationError drops the parser's quotation of the input", () => {
    let cause: unknown;
    try {
      JSON.parse('this is not json: Maria Lopez MRN-123456');
    } catch (error) {
      cause = error;
    }
    const error = new DeserializationError('orders', 2, '41', cause);
    expect(error.message).toBe(
      `Cannot deserialize record orders-2@41: Unexpected token '…', "…"... is not valid JSON`,
    );
    expect(error.cause).toBe(cause);
  });

  it('PayloadValidationError lists the failing fields in its message', () => {
    const errors = [
      { field: 'patientId', constraints: ['patientId must be a UUID'] },
      { field: 'score', constraints: ['score must not be greater than 10', 'score must be an integer'] },
    ];
    const error = new PayloadValidationError(errors);
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error.name).toBe('PayloadValidationError');
    expect(error.message).toBe('Invalid payload: patientId, score');
    expect(error.errors).toEqual(errors);
  });

  it('UnknownEventTypeError says whether the type was unknown or missing', () => {
    const unknown = new UnknownEventTypeError('pain.recorded.v9');
    expect(unknown).toBeInstanceOf(NonRetryableError);
    expect(unknown.name).toBe('UnknownEventTypeError');
    expect(unknown.eventType).toBe('pain.recorded.v9');
    expect(unknown.message).toBe('Unknown event type "pain.recorded.v9"');
    const missing = new UnknownEventTypeError(undefined);
    expect(missing.eventType).toBeUndefined();
    expect(missing.message).toBe('Record carries no event type');
  });

  it('HandlerTimeoutError is a plain, retryable Error', () => {
    const error = new HandlerTimeoutError(5000);
    expect(error).toBeInstanceOf(HandlerTimeoutError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.name).toBe('HandlerTimeoutError');
    expect(error.timeoutMs).toBe(5000);
    expect(error.message).toBe('Handler did not complete within 5000 ms');
  });

  it('RetriesExhaustedError carries the attempt count and the last error', () => {
    const last = new HandlerTimeoutError(100);
    const error = new RetriesExhaustedError(3, last);
    expect(error).toBeInstanceOf(RetriesExhaustedError);
    expect(error).not.toBeInstanceOf(NonRetryableError);
    expect(error.name).toBe('RetriesExhaustedError');
    expect(error.attempts).toBe(3);
    expect(error.cause).toBe(last);
    expect(error.message).toBe('Gave up after 3 attempts: Handler did not complete within 100 ms');
    expect(new RetriesExhaustedError(1, 'boom').message).toBe('Gave up after 1 attempt: boom');
  });
});
