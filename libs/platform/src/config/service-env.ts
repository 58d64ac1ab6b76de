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
  /** Connection security to Kafka: see KAFKA_SECURITY_ENV in kafka-core (each secret has a `_FILE` twin). */
  KAFKA_SECURITY_PROTOCOL: 'KAFKA_SECURITY_PROTOCOL',
  KAFKA_SASL_MECHANISM: 'KAFKA_SASL_MECHANISM',
  KAFKA_SASL_USERNAME: 'KAFKA_SASL_USERNAME',
  KAFKA_SASL_USERNAME_FILE: 'KAFKA_SASL_USERNAME_FILE',
  KAFKA_SASL_PASSWORD: 'KAFKA_SASL_PASSWORD',
  KAFKA_SASL_PASSWORD_FILE: 'KAFKA_SASL_PASSWORD_FILE',
  KAFKA_SSL_CA_FILE: 'KAFKA_SSL_CA_FILE',
  KAFKA_SSL_CERT_FILE: 'KAFKA_SSL_CERT_FILE',
  KAFKA_SSL_KEY_FILE: 'KAFKA_SSL_KEY_FILE',
  KAFKA_SSL_KEY_PASSWORD: 'KAFKA_SSL_KEY_PASSWORD',
  KAFKA_SSL_KEY_PASSWORD_FILE: 'KAFKA_SSL_KEY_PASSWORD_FILE',
  KAFKA_SSL_SERVERNAME: 'KAFKA_SSL_SERVERNAME',
  KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: 'KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL',
  KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'KAFKA_SASL_OAUTHBEARER_CLIENT_ID',
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET',
  KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE: 'KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET_FILE',
  KAFKA_SASL_OAUTHBEARER_SCOPE: 'KAFKA_SASL_OAUTHBEARER_SCOPE',
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

/**
 * Each service's own variables (read with `readSettings`), beside the shared SERVICE_ENV, so the
 * compose file and the README can be checked against them too.
 */
export const SERVICE_SETTINGS_ENV: Record<ServiceName, Record<string, string>> = {
  monolith: {
    PAIN_ESCALATION_THRESHOLD: 'Pain score (0–10) at or above which an assessment escalates; default 7.',
    PAIN_ESCALATION_RISE:
      "Rise since the patient's previous assessment that escalates even below the threshold; default 3.",
  },
  'logging-service': {
    AUDIT_READER_TOKENS:
      'Credentials of the audit endpoints, `name:token,...` (tokens of 16+ characters); the name is the ' +
      'reader recorded in the audit trail. Unset: the audit endpoints refuse everyone.',
  },
  'analytics-service': {},
  'notification-service': {
    NOTIFICATION_ACK_TIMEOUT_MS:
      'How long an escalation may go unacknowledged before it moves to the next level; default 300000.',
    NOTIFICATION_MAX_LEVEL: 'Highest escalation level; default 3.',
    NOTIFICATION_ESCALATION_CHAIN:
      'Recipients per level, comma-separated; default ward-nurse,charge-nurse,on-call-physician.',
    NOTIFICATION_WEBHOOK_URL:
      'URL the webhook channel posts notifications to; unset: notifications go to the log channel.',
  },
};
