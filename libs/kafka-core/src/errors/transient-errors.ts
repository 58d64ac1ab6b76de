/**
 * Failures of our own infrastructure (database, broker, network): the record is fine, the service
 * around it is not. Waited out for as long as they last and never dead-lettered, so an outage of
 * PostgreSQL or Kafka cannot turn business events into dead letters.
 */

/** The error plus this many causes are inspected, as by `classify`. */
const MAX_CAUSE_DEPTH = 5;

/**
 * PostgreSQL SQLSTATEs (the `code` of pg's DatabaseError) that say "the server, not the statement":
 * admin/crash shutdown and cannot-connect-now (57P01-57P03), too many connections (53300), and the
 * two a retry is documented to fix, serialization failure (40001) and deadlock (40P01). Class 08
 * (connection exceptions) is matched by prefix.
 */
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01']);

/** Node's codes for a peer that cannot be reached or went away. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * pg reports a lost or unobtainable connection with plain Errors: the server ended it, the pool's
 * connection timeout ran out, or a client that already failed was used again.
 */
const PG_CONNECTION_MESSAGES = [
  /^Connection terminated( unexpectedly| due to connection timeout)?$/,
  /^timeout exceeded when trying to connect$/,
  /^Client has encountered a connection error and is not queryable$/,
];

/** Named by class name: importing the producer here would tie the error rules to it. */
const TRANSIENT_NAMES = new Set(['PublishTimeoutError']);

function isTransientLevel(error: object): boolean {
  const { code, retriable, name, message } = error as {
    code?: unknown;
    retriable?: unknown;
    name?: unknown;
    message?: unknown;
  };
  // kafkajs errors and our client port's ProduceError carry Kafka's own "try again" flag.
  if (retriable === true) return true;
  if (typeof code === 'string') {
    if (TRANSIENT_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (NETWORK_CODES.has(code)) return true;
  }
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(message));
}

/**
 * Whether the error, or one of its first causes, is an infrastructure failure (see the module
 * comment). An AggregateError (Node's connect to several addresses) counts when one of its errors does.
 */
export function isTransientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth <= MAX_CAUSE_DEPTH; depth++) {
    if (typeof current !== 'object' || current === null) return false;
    if (isTransientLevel(current)) return true;
    const inner = (current as { errors?: unknown }).errors;
    if (current instanceof AggregateError && Array.isArray(inner) && inner.some(isTransientOne)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function isTransientOne(error: unknown): boolean {
  return typeof error === 'object' && error !== null && isTransientLevel(error);
}
