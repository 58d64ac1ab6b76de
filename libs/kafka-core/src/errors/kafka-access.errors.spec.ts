import {
  asAuthenticationFailure,
  asAuthorizationFailure,
  KafkaAuthenticationError,
  KafkaAuthorizationError,
} from './kafka-access.errors';

const BROKERS = ['kafka-1.internal:9093'];

/** Shapes kafkajs 2.2.4 throws (src/errors.js), nested as its retrier nests them. */
const sasl = (message: string) =>
  Object.assign(new Error(message), { name: 'KafkaJSSASLAuthenticationError', retriable: false });
const connection = (code: string) =>
  Object.assign(new Error(`Connection error: ${code}`), { name: 'KafkaJSConnectionError', code });
const protocol = (type: string) =>
  Object.assign(new Error('Not authorized to access topics: [Topic authorization failed]'), {
    name: 'KafkaJSProtocolError',
    type,
    retriable: false,
  });

describe('asAuthenticationFailure', () => {
  it('turns a refused SCRAM login, however deeply wrapped, into one sentence naming the principal', () => {
    const wrapped = Object.assign(new Error('retries exceeded'), {
      originalError: sasl(
        'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
      ),
    });
    const failure = asAuthenticationFailure(wrapped, 'monolith', BROKERS);
    expect(failure).toBeInstanceOf(KafkaAuthenticationError);
    expect((failure as KafkaAuthenticationError).reason).toBe('authentication failed');
    expect((failure as Error).message).toBe(
      'Kafka at kafka-1.internal:9093 refused to authenticate monolith: wrong user name or password, or an expired token',
    );
  });

  it('names a mechanism the broker does not enable as such', () => {
    const failure = asAuthenticationFailure(
      sasl('SASL SCRAM-SHA-256 mechanism is not supported by the server'),
      'monolith',
      BROKERS,
    ) as Error;
    expect(failure.message).toContain('does not enable the SASL mechanism configured for monolith');
  });

  it('reports an untrusted broker certificate as rejected, pointing at the CA variable', () => {
    const failure = asAuthenticationFailure(connection('SELF_SIGNED_CERT_IN_CHAIN'), 'monolith', BROKERS);
    expect((failure as KafkaAuthenticationError).reason).toBe('certificate rejected');
    expect((failure as Error).message).toContain('KAFKA_SSL_CA_FILE');
  });

  it('leaves an unreachable broker as it was (startup keeps waiting for it)', () => {
    const refused = connection('ECONNREFUSED');
    expect(asAuthenticationFailure(refused, 'monolith', BROKERS)).toBe(refused);
  });
});

describe('asAuthorizationFailure', () => {
  it('names principal, operation and topic', () => {
    const failure = asAuthorizationFailure(
      protocol('TOPIC_AUTHORIZATION_FAILED'),
      'analytics-service',
      'Write',
      {
        topics: ['audit-events'],
      },
    );
    expect(failure).toBeInstanceOf(KafkaAuthorizationError);
    expect((failure as Error).message).toBe(
      'Kafka principal analytics-service is not authorized for Write on topic audit-events',
    );
  });

  it('prefers the topic the broker named over the ones the caller tried', () => {
    const nested = Object.assign(new Error('create failed'), {
      errors: [{ topic: 'b', type: 'TOPIC_AUTHORIZATION_FAILED' }],
    });
    const failure = asAuthorizationFailure(nested, 'svc', 'Create', { topics: ['a', 'b'] }) as Error;
    expect(failure.message).toBe('Kafka principal svc is not authorized for Create on topic b');
  });

  it('names the consumer group of a group refusal', () => {
    const failure = asAuthorizationFailure(protocol('GROUP_AUTHORIZATION_FAILED'), 'intruder', 'Read', {
      topics: ['audit-events'],
      group: 'logging-service-audit',
    }) as Error;
    expect(failure.message).toBe(
      'Kafka principal intruder is not authorized for Read on consumer group logging-service-audit',
    );
  });

  it('leaves other errors alone', () => {
    const other = protocol('NOT_LEADER_FOR_PARTITION');
    expect(asAuthorizationFailure(other, 'svc', 'Write', { topics: ['a'] })).toBe(other);
  });
});
