import { ConfigError, loadServiceConfig, readSettings, schemaFor } from './service-config';

describe('loadServiceConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadServiceConfig('analytics-service', {});
    expect(config).toMatchObject({
      service: 'analytics-service',
      port: 3002,
      host: '0.0.0.0',
      kafkaBrokers: ['127.0.0.1:9092'],
      replicationFactor: 1,
      databaseUrl: undefined,
      logLevels: ['fatal', 'error', 'warn', 'log'],
    });
    expect(config.pgliteDataDir).toMatch(/\.data\/pglite\/analytics-service$/);
  });

  it('reads every variable', () => {
    const config = loadServiceConfig('monolith', {
      PORT: '4000',
      HOST: '127.0.0.1',
      KAFKA_BROKERS: 'a:9092, b:9093',
      KAFKA_REPLICATION_FACTOR: '3',
      DATABASE_URL: 'postgres://u@h:5432/db',
      LOG_LEVEL: 'warn',
    });
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      kafkaBrokers: ['a:9092', 'b:9093'],
      replicationFactor: 3,
      databaseUrl: 'postgres://u@h:5432/db',
      logLevels: ['fatal', 'error', 'warn'],
    });
  });

  it('names every malformed variable in one error', () => {
    let error: unknown;
    try {
      loadServiceConfig('monolith', {
        PORT: 'eighty',
        KAFKA_BROKERS: 'no-port',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'KAFKA_BROKERS', 'DATABASE_URL', 'LOG_LEVEL'])
      expect(problems).toContain(name);
  });

  it('gives every service its own schema', () => {
    expect(
      ['monolith', 'logging-service', 'analytics-service', 'notification-service'].map((s) =>
        schemaFor(s as never),
      ),
    ).toEqual(['monolith', 'logging', 'analytics', 'notification']);
  });
});

describe('readSettings', () => {
  const read = (env: NodeJS.ProcessEnv) =>
    readSettings('notification-service', env, (r) => ({
      level: r.int('MAX_LEVEL', 3, 1, 5),
      webhook: r.url('WEBHOOK_URL'),
      readers: r.pairs('READERS', 16),
    }));

  it('applies defaults and reads valid values', () => {
    expect(read({})).toEqual({ level: 3, webhook: undefined, readers: new Map() });
    expect(
      read({ MAX_LEVEL: '5', WEBHOOK_URL: 'https://pager.example/hook', READERS: 'alice:0123456789abcdef' }),
    ).toEqual({
      level: 5,
      webhook: 'https://pager.example/hook',
      readers: new Map([['0123456789abcdef', 'alice']]),
    });
  });

  it('reports every malformed variable at once, without echoing secrets', () => {
    let error: unknown;
    try {
      read({ MAX_LEVEL: '9', WEBHOOK_URL: 'ftp://x', READERS: 'alice:short,:0123456789abcdef' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).problems).toHaveLength(4);
    expect(message).toContain('MAX_LEVEL must be an integer from 1 to 5, got "9"');
    expect(message).toContain('WEBHOOK_URL must be an http:// or https:// URL');
    expect(message).toContain('"alice" is not');
    expect(message).toContain('an entry without a name is not');
    expect(message).not.toContain('short');
    expect(message).not.toContain('0123456789abcdef');
  });
});
