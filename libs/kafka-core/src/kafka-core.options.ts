import { ListenerDefaults } from './discovery/listener-definition';
import { DeadLetterOptions } from './pipeline/dead-letter.middleware';
import { TopicDeclaration } from './topics/topic-declaration';

export interface KafkaCoreModuleOptions {
  /** Bootstrap brokers, host:port. */
  brokers: string[];
  /** Client id reported to the broker; also the `source` envelope header. */
  clientId: string;
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
}

export const KAFKA_CORE_DEFAULTS = {
  replicationFactor: 1,
  startupTimeoutMs: 60_000,
  healthTimeoutMs: 2_000,
  shutdownTimeoutMs: 10_000,
} as const;
