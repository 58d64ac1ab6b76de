import type { Middleware } from './pipeline/pipeline';
import { ListenerDefaults } from './discovery/listener-definition';
import { DeadLetterOptions } from './pipeline/dead-letter.middleware';
import type { Database } from '@app/database';
import { CompressionCodec } from './client/kafka-client.port';
import { OutboxRelayOptions } from './outbox/outbox-relay.options';
import { TopicDeclaration } from './topics/topic-declaration';
import { KafkaSecurityOptions } from './client/security/kafka-security';

export interface PublisherOptions {
  /**
   * How long a send waits for others to share its request when none is in flight, in ms (the
   * producer's linger). Default 1; 0 gathers only what is sent in the same event-loop turn.
   */
  lingerMs?: number;
  /** Records merged into one produce request at most. Default 1000. */
  maxBatchRecords?: number;
  /** gzip is built in; snappy, lz4 and zstd need kafkajs-snappy, kafkajs-lz4 or @kafkajs/zstd. */
  compression?: CompressionCodec;
  /** Produce retries with exponential backoff before a send fails. Default 5. */
  retries?: number;
  /** Overall bound of one send, retries included, in ms. Default 30000. */
  sendTimeoutMs?: number;
}

export interface KafkaCoreModuleOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  /** Client id reported to the broker; also the `source` envelope header. */
  clientId: string;
  /**
   * TLS and SASL (PLAIN, SCRAM, OAUTHBEARER) to the brokers; absent: PLAINTEXT. Read it from the
   * standard variables with `kafkaSecurityFromEnv()`.
   */
  security?: KafkaSecurityOptions;
  /** Topics this service produces or consumes, provisioned at startup. */
  topics?: TopicDeclaration[];
  /** Replication factor for declarations that do not set one (1 in dev, 3 in production). */
  replicationFactor?: number;
  /**
   * How long startup waits for the broker before giving up, in ms. Waiting backs off exponentially
   * so a service started next to its broker comes up as soon as the broker does.
   */
  startupTimeoutMs?: number;
  /** Per-request timeout of the readiness probe against the broker, in ms. */
  healthTimeoutMs?: number;
  /** Defaults for every `@KafkaListener` of the application (each listener may override). */
  listenerDefaults?: ListenerDefaults;
  /** How long shutdown waits for in-flight records before it commits what finished and leaves. */
  shutdownTimeoutMs?: number;
  /** What dead letters carry beyond provenance (stack traces only when asked for). */
  deadLetter?: DeadLetterOptions;
  /** The publisher: linger, batch size, compression, retries, timeout. */
  producer?: PublisherOptions;
  /**
   * The service's database: enables the transactional outbox relay and `inbox` listeners. kafka-core
   * keeps its tables (kafka_outbox, kafka_outbox_dead, kafka_inbox) in the database's schema and
   * migrates them at startup.
   */
  database?: Database;
  /** The outbox relay; `relay: false` leaves publishing to another process (or a CDC connector). */
  outbox?: Partial<OutboxRelayOptions> & { relay?: boolean };
  /**
   * Carry each handled record's correlation id, event id (as causation id) and trace into what its
   * handler publishes or enqueues. Default: on when some provider or controller of the application
   * has the KafkaPublisher or KafkaOutbox injected (the tracking costs every promise a little on
   * Node 20, so applications that never publish from a handler do not pay for it). Set it to `true`
   * when handlers reach the publisher another way (ModuleRef, a factory).
   */
  propagateContext?: boolean;
  /** Health thresholds (see HEALTH_DEFAULTS). */
  health?: HealthOptions;
  /** Middlewares around every listener's handler, outside each listener's own `middlewares`. */
  middlewares?: Middleware[];
  /** The admin endpoints (/kafka/...) accept `Authorization: Bearer <token>`; without a token, nobody. */
  admin?: { token?: string };
}

export interface HealthOptions {
  /** A record received but unfinished for longer than this makes its listener unhealthy. */
  stuckAfterMs?: number;
  /** A started listener that has not joined its group after this long is unhealthy. */
  joinTimeoutMs?: number;
  /** Consumer lag per listener: warning (reported, still up) and critical (down). */
  lag?: { warning?: number; critical?: number };
  /** The outbox is down when its oldest waiting row is older than this. */
  outbox?: { maxOldestAgeMs?: number };
  /** A listener retrying a transient failure for longer than this reports degraded. */
  retryingDegradedAfterMs?: number;
  /** A listener an operator paused longer ago than this reports degraded. */
  pausedDegradedAfterMs?: number;
  /** A listener that dead-lettered a record within this window reports degraded. */
  deadLetterWindowMs?: number;
}

/** Seed 000's lag thresholds; the rest sized for a service whose handlers take seconds at most. */
export const HEALTH_DEFAULTS = {
  stuckAfterMs: 120_000,
  joinTimeoutMs: 60_000,
  lag: { warning: 1_000, critical: 5_000 },
  outbox: { maxOldestAgeMs: 300_000 },
  retryingDegradedAfterMs: 60_000,
  pausedDegradedAfterMs: 900_000,
  deadLetterWindowMs: 900_000,
} as const;

export const KAFKA_CORE_DEFAULTS = {
  replicationFactor: 1,
  startupTimeoutMs: 60_000,
  healthTimeoutMs: 2_000,
  shutdownTimeoutMs: 10_000,
} as const;

export const PUBLISHER_DEFAULTS = {
  lingerMs: 1,
  maxBatchRecords: 1_000,
  sendTimeoutMs: 30_000,
} as const;
