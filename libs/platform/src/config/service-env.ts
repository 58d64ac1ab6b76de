/**
 * Every environment variable a service reads, in one place, so the compose file, the README and the
 * start script can be checked against the code.
 */
export const SERVICE_ENV = {
  /** HTTP port; each service has its own default (see SERVICE_DEFAULT_PORTS). */
  PORT: 'PORT',
  /** Interface to bind; containers need 0.0.0.0. */
  HOST: 'HOST',
  /** Comma-separated bootstrap brokers, e.g. 127.0.0.1:9092. */
  KAFKA_BROKERS: 'KAFKA_BROKERS',
  /** Replication factor for provisioned topics (1 in dev, 3 in production). */
  KAFKA_REPLICATION_FACTOR: 'KAFKA_REPLICATION_FACTOR',
  /** PostgreSQL URL; when absent the service uses the embedded database under PGLITE_DATA_DIR. */
  DATABASE_URL: 'DATABASE_URL',
  /** Data directory of the embedded database (only used without DATABASE_URL). */
  PGLITE_DATA_DIR: 'PGLITE_DATA_DIR',
  /** Bearer token of the admin endpoints (/kafka/...); without it they refuse every caller. */
  KAFKA_ADMIN_TOKEN: 'KAFKA_ADMIN_TOKEN',
  /** Nest logger levels, comma-separated (error,warn,log,debug,verbose). */
  LOG_LEVEL: 'LOG_LEVEL',
} as const;

export type ServiceEnvName = (typeof SERVICE_ENV)[keyof typeof SERVICE_ENV];

export const SERVICE_NAMES = [
  'monolith',
  'logging-service',
  'analytics-service',
  'notification-service',
] as const;

export type ServiceName = (typeof SERVICE_NAMES)[number];

export const SERVICE_DEFAULT_PORTS: Record<ServiceName, number> = {
  monolith: 3000,
  'logging-service': 3001,
  'analytics-service': 3002,
  'notification-service': 3003,
};
