import { resolve } from 'node:path';
import { kafkaSecurityFromEnv, KafkaSecurityOptions } from '@app/kafka-core';
import { SERVICE_DEFAULT_PORTS, ServiceName } from './service-env';

export interface ServiceConfig {
  service: ServiceName;
  port: number;
  host: string;
  kafkaBrokers: string[];
  /** TLS and SASL to the brokers, from the KAFKA_SECURITY_* variables; absent: PLAINTEXT. */
  kafkaSecurity?: KafkaSecurityOptions;
  replicationFactor: number;
  /** Absent: the embedded database under `pgliteDataDir`. */
  databaseUrl?: string;
  pgliteDataDir: string;
  /** Bearer token of the admin endpoints; absent: they refuse everyone. */
  adminToken?: string;
  logLevels: ('error' | 'warn' | 'log' | 'debug' | 'verbose' | 'fatal')[];
  /** The environment this was read from; a service reads its own settings from it (`readSettings`). */
  env: NodeJS.ProcessEnv;
}

/** Every problem with the environment at once, so a misconfigured service is fixed in one pass. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    // One problem reads as one line; several as a list.
    super(
      problems.length === 1
        ? `${service}: invalid configuration: ${problems[0]}`
        : `${service}: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
// host:port with a DNS name or IPv4 address (kafkajs splits on the colon, so no IPv6 literals).
const BROKER = /^[A-Za-z0-9._-]+:\d{1,5}$/;

function intInRange(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
) {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return fallback;
  }
  return value;
}

/** Database schema a service owns: one per service, tables are never shared. */
export function schemaFor(service: ServiceName): string {
  return service.replace(/-service$/, '').replace(/-/g, '_');
}

export function loadServiceConfig(service: ServiceName, env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const problems: string[] = [];
  const port = intInRange('PORT', env.PORT, SERVICE_DEFAULT_PORTS[service], 1, 65535, problems);
  const replicationFactor = intInRange(
    'KAFKA_REPLICATION_FACTOR',
    env.KAFKA_REPLICATION_FACTOR,
    1,
    1,
    32,
    problems,
  );

  const kafkaBrokers = (env.KAFKA_BROKERS || '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const badBrokers = kafkaBrokers.filter((b) => !BROKER.test(b));
  if (kafkaBrokers.length === 0 || badBrokers.length > 0) {
    problems.push(`KAFKA_BROKERS must be a comma-separated list of host:port, got "${env.KAFKA_BROKERS}"`);
  }

  const kafkaSecurity = kafkaSecurityFromEnv(env, problems);

  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must start with postgres:// or postgresql://');
  }

  if (env.KAFKA_ADMIN_TOKEN && env.KAFKA_ADMIN_TOKEN.length < 16) {
    problems.push(
      'KAFKA_ADMIN_TOKEN must be at least 16 characters (or unset, which disables the admin endpoints)',
    );
  }

  const logLevelNames = (env.LOG_LEVEL || 'log').split(',').map((l) => l.trim());
  const unknownLevels = logLevelNames.filter((l) => !(LOG_LEVELS as readonly string[]).includes(l));
  if (unknownLevels.length > 0) {
    problems.push(`LOG_LEVEL accepts ${LOG_LEVELS.join(', ')}; unknown: ${unknownLevels.join(', ')}`);
  }
  // A single level means "this and everything more severe", as most loggers read it.
  const logLevels =
    logLevelNames.length === 1 && unknownLevels.length === 0
      ? LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(logLevelNames[0] as (typeof LOG_LEVELS)[number]) + 1)
      : (logLevelNames.filter((l) => !unknownLevels.includes(l)) as ServiceConfig['logLevels']);

  if (problems.length > 0) throw new ConfigError(service, problems);
  return {
    service,
    port,
    host: env.HOST || '0.0.0.0',
    kafkaBrokers,
    kafkaSecurity,
    replicationFactor,
    databaseUrl,
    pgliteDataDir: resolve(env.PGLITE_DATA_DIR || `.data/pglite/${service}`),
    adminToken: env.KAFKA_ADMIN_TOKEN || undefined,
    logLevels,
    env,
  };
}

/** Reads a service's own variables, collecting every problem instead of stopping at the first. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The raw value; absent or empty reads as undefined. */
  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    return intInRange(name, this.string(name), fallback, min, max, this.problems);
  }

  /** An http(s) URL, or undefined when unset. */
  url(name: string): string | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    try {
      const url = new URL(raw);
      if (url.protocol === 'http:' || url.protocol === 'https:') return raw;
    } catch {
      // Reported below.
    }
    this.problems.push(`${name} must be an http:// or https:// URL, got "${raw}"`);
    return undefined;
  }

  /** Comma-separated `name:secret` pairs, e.g. credentials mapped to the identity they stand for. */
  pairs(name: string, minSecretLength: number): Map<string, string> {
    const result = new Map<string, string>();
    const raw = this.string(name);
    if (raw === undefined) return result;
    for (const item of raw
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)) {
      const at = item.indexOf(':');
      const key = at > 0 ? item.slice(0, at).trim() : '';
      const secret = at > 0 ? item.slice(at + 1).trim() : '';
      if (!key || secret.length < minSecretLength) {
        this.problems.push(
          `${name} must be comma-separated name:secret pairs with secrets of at least ${minSecretLength} characters; ` +
            (key ? `"${key}" is not` : 'an entry without a name is not'),
        );
        continue;
      }
      result.set(secret, key);
    }
    return result;
  }
}

/**
 * A service's own settings from its environment: every problem at once, as a ConfigError the
 * bootstrap prints as one message (e.g. `readSettings('monolith', config.env, (env) => ({ ... }))`).
 */
export function readSettings<T>(
  service: ServiceName,
  env: NodeJS.ProcessEnv,
  read: (reader: EnvReader) => T,
): T {
  const reader = new EnvReader(env);
  const settings = read(reader);
  if (reader.problems.length > 0) throw new ConfigError(service, reader.problems);
  return settings;
}
