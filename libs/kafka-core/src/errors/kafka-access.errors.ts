/**
 * The broker refused who we are (a wrong password, a mechanism it does not enable, an expired token)
 * or we refused the broker (its certificate is not trusted). Retrying cannot help: startup stops with
 * this one sentence instead of reconnecting forever.
 */
export class KafkaAuthenticationError extends Error {
  constructor(
    message: string,
    /** For readiness: what failed, in two words. */
    readonly reason: 'authentication failed' | 'certificate rejected',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaAuthenticationError';
  }
}

/** An ACL refused an operation; names the principal, the operation and the resource. */
export class KafkaAuthorizationError extends Error {
  readonly retriable = false;

  constructor(
    readonly principal: string,
    readonly operation: string,
    readonly resource: string,
    options?: { cause?: unknown },
  ) {
    super(`Kafka principal ${principal} is not authorized for ${operation} on ${resource}`, options);
    this.name = 'KafkaAuthorizationError';
  }
}

/** Node's codes for a certificate the client does not trust or that does not match the host. */
const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface Failure {
  name?: string;
  type?: string;
  code?: string;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** The error and what it wraps (kafkajs nests causes in `originalError`, `cause` and `errors`). */
export function* causeChain(error: unknown, depth = 0): Generator<Failure> {
  if (!error || typeof error !== 'object' || depth > 8) return;
  const failure = error as Failure;
  yield failure;
  yield* causeChain(failure.originalError, depth + 1);
  yield* causeChain(failure.cause, depth + 1);
  for (const nested of Array.isArray(failure.errors) ? failure.errors : [])
    yield* causeChain(nested, depth + 1);
}

/**
 * Turns a connection failure that is really an authentication or certificate failure into a
 * KafkaAuthenticationError; anything else (unreachable, timed out) is returned as it was.
 */
export function asAuthenticationFailure(error: unknown, principal: string, brokers: string[]): unknown {
  for (const failure of causeChain(error)) {
    if (failure instanceof KafkaAuthenticationError) return failure;
    const sasl =
      failure.name === 'KafkaJSSASLAuthenticationError' ||
      failure.type === 'SASL_AUTHENTICATION_FAILED' ||
      failure.type === 'UNSUPPORTED_SASL_MECHANISM' ||
      failure.type === 'ILLEGAL_SASL_STATE';
    if (sasl) {
      const mechanism =
        failure.type === 'UNSUPPORTED_SASL_MECHANISM' || /not supported/i.test(failure.message ?? '');
      return new KafkaAuthenticationError(
        mechanism
          ? `Kafka at ${brokers.join(',')} does not enable the SASL mechanism configured for ${principal} (KAFKA_SASL_MECHANISM)`
          : `Kafka at ${brokers.join(',')} refused to authenticate ${principal}: wrong user name or password, or an expired token`,
        'authentication failed',
        { cause: error },
      );
    }
    if (failure.code && CERTIFICATE_CODES.has(failure.code)) {
      return new KafkaAuthenticationError(
        `The certificate of Kafka at ${brokers.join(',')} was rejected (${failure.code}): ` +
          'KAFKA_SSL_CA_FILE must name the CA that signed it, and it must be valid for the host name',
        'certificate rejected',
        { cause: error },
      );
    }
  }
  return error;
}

const AUTHORIZATION_TYPES: Record<string, string> = {
  TOPIC_AUTHORIZATION_FAILED: 'topic',
  GROUP_AUTHORIZATION_FAILED: 'consumer group',
  CLUSTER_AUTHORIZATION_FAILED: 'the cluster',
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 'transactional id',
};

/**
 * An ACL refusal in `error`, named by the operation and resource the caller was attempting
 * (kafkajs only says "Not authorized to access topics"); anything else is returned as it was.
 */
export function asAuthorizationFailure(
  error: unknown,
  principal: string,
  operation: string,
  resources: { topics?: string[]; group?: string },
): unknown {
  for (const failure of causeChain(error)) {
    if (failure instanceof KafkaAuthorizationError) return failure;
    const kind = failure.type ? AUTHORIZATION_TYPES[failure.type] : undefined;
    if (!kind) continue;
    const named =
      kind === 'topic'
        ? `topic ${(failure as { topic?: string }).topic ?? resources.topics?.join(', ') ?? '(unknown)'}`
        : kind === 'consumer group'
          ? `consumer group ${resources.group ?? '(unknown)'}`
          : kind;
    return new KafkaAuthorizationError(principal, operation, named, { cause: error });
  }
  return error;
}
