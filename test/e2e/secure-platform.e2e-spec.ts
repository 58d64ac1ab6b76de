import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConsoleLogger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Admin, Kafka, logLevel } from 'kafkajs';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import {
  BrokerUnavailableError,
  KafkaAuthenticationError,
  KafkaAuthorizationError,
  KafkaBrokerHealthIndicator,
  KafkaSecurityOptions,
} from '@app/kafka-core';
import { KafkajsClient } from '@app/kafka-core/client/kafkajs.client';
import { KafkaCoreModuleOptions } from '@app/kafka-core/kafka-core.options';
import { ConfigError, loadServiceConfig, ServiceName } from '@app/platform';
import { AnalyticsServiceModule } from '../../apps/analytics-service/src/analytics-service.module';
import { LoggingServiceModule } from '../../apps/logging-service/src/logging-service.module';
import { MonolithModule } from '../../apps/monolith/src/monolith.module';
import { NotificationServiceModule } from '../../apps/notification-service/src/notification-service.module';
import { endOffsetSum, uniqueName } from '../support/kafka';
import { captureOutput, OutputCapture } from '../support/secure-capture';
import { eventually, RunningService, startService } from '../support/service-app';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startKafka } = require('../../scripts/kafka/kafka');

interface Principal {
  username: string;
  password: string;
  passwordFile: string;
}

interface SecureKafka {
  brokers: string[];
  logDir: string;
  security: { caFile: string; principals: Record<string, Principal> };
  stop(): Promise<void>;
}

const REPO = resolve(__dirname, '..', '..');
const AUDIT_TOKEN = 'secure-platform-audit-token';
const INTRUDER = 'intruder';

/**
 * The platform on a broker that only speaks SASL_SSL with SCRAM-SHA-512 and enforces the ACLs derived
 * from the topic table: each service logs in as itself, and what it may not do is refused by name.
 */

/** The services log at their configured levels, so the capture sees what they print while connecting. */
const startLogged = (...args: Parameters<typeof startService>) =>
  startService(args[0], args[1], args[2], { showLogs: true });

describe('the platform on a secured broker', () => {
  let output: OutputCapture;
  let kafka: SecureKafka;
  let database: TestDatabase;
  let observer: Admin;
  const services: Partial<Record<ServiceName, RunningService>> = {};

  const principal = (name: string) => kafka.security.principals[name];

  /** What a deployment sets: the password from a file, the CA from a file, nothing inline. */
  const secureEnv = (service: ServiceName, databaseUrl: string): NodeJS.ProcessEnv => ({
    KAFKA_BROKERS: kafka.brokers.join(','),
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: principal(service).username,
    KAFKA_SASL_PASSWORD_FILE: principal(service).passwordFile,
    KAFKA_SSL_CA_FILE: kafka.security.caFile,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'debug',
  });

  const security = (name: string, tls: KafkaSecurityOptions['tls'] = { ca: ca() }): KafkaSecurityOptions => ({
    protocol: 'SASL_SSL',
    tls,
    sasl: {
      mechanism: 'SCRAM-SHA-512',
      username: principal(name).username,
      password: principal(name).password,
    },
  });
  const ca = () => readFileSync(kafka.security.caFile, 'utf8');
  const clientAs = (name: string, tls?: KafkaSecurityOptions['tls']) =>
    new KafkajsClient({
      brokers: kafka.brokers,
      clientId: `secure-e2e-${name}`,
      security: security(name, tls),
    });

  beforeAll(async () => {
    output = captureOutput();
    kafka = await startKafka({ port: 0, secure: true, extraPrincipals: [INTRUDER] });
    observer = new Kafka({
      clientId: 'secure-e2e-observer',
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
      ssl: { ca: [ca()] },
      sasl: { mechanism: 'scram-sha-512', username: 'admin', password: principal('admin').password },
    }).admin();
    await observer.connect();
    database = await createTestDatabase('kc_secure');
    const env = (service: ServiceName) => secureEnv(service, database.url);
    services['logging-service'] = await startLogged('logging-service', LoggingServiceModule, {
      ...env('logging-service'),
      AUDIT_READER_TOKENS: `secure-auditor:${AUDIT_TOKEN}`,
    });
    services['analytics-service'] = await startLogged(
      'analytics-service',
      AnalyticsServiceModule,
      env('analytics-service'),
    );
    services['notification-service'] = await startLogged('notification-service', NotificationServiceModule, {
      ...env('notification-service'),
      NOTIFICATION_ACK_TIMEOUT_MS: '600000',
    });
    services.monolith = await startLogged('monolith', MonolithModule, env('monolith'));
  }, 180_000);

  afterAll(async () => {
    for (const name of ['monolith', 'notification-service', 'analytics-service', 'logging-service'] as const)
      await services[name]?.close();
    await observer?.disconnect();
    await database?.drop();
    await kafka?.stop();
    output?.stop();
  }, 60_000);

  async function call<T = Record<string, unknown>>(
    service: ServiceName,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${services[service]!.url}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  it('runs the escalation flow across the four services, each logged in as itself', async () => {
    for (const name of Object.keys(services) as ServiceName[]) {
      const ready = await eventually(async () => {
        const { status } = await call(name, 'GET', '/health/ready');
        return status === 200 ? status : undefined;
      }, 30_000);
      expect({ name, ready }).toEqual({ name, ready: 200 });
    }
    expect(output.text()).toContain('over SASL_SSL SCRAM-SHA-512 as monolith');

    const ward = uniqueName('w');
    const admitted = await call<{ id: string }>('monolith', 'POST', '/patients', {
      mrn: uniqueName('mrn'),
      givenName: 'Maria',
      familyName: 'Lopez',
      birthDate: '1961-04-12',
      ward,
    });
    expect(admitted.status).toBe(201);
    const patientId = admitted.body.id;
    const assess = (score: number, correlationId: string) =>
      call<{ escalation: { id: string; severity: string } | null }>(
        'monolith',
        'POST',
        `/patients/${patientId}/assessments`,
        { score, location: 'lower back', recordedBy: 'nurse-joy' },
        { 'x-actor': 'nurse-joy', 'x-correlation-id': correlationId },
      );
    expect((await assess(3, uniqueName('assess'))).body.escalation).toBeNull();
    const correlationId = uniqueName('escalating');
    const second = await assess(8, correlationId);
    expect(second.status).toBe(201);
    expect(second.body.escalation).toMatchObject({ severity: 'high' });

    // notification-service read the escalation off the broker and notified the ward nurse once.
    type Notification = { escalationId: string; status: string; recipient: string };
    const notices = await eventually(async () => {
      const { body } = await call<{ items: Notification[] }>(
        'notification-service',
        'GET',
        `/notifications?patientId=${patientId}`,
      );
      return body.items.length > 0 ? body.items : undefined;
    }, 30_000);
    expect(notices).toEqual([
      expect.objectContaining({
        escalationId: second.body.escalation!.id,
        status: 'sent',
        recipient: 'ward-nurse',
      }),
    ]);

    // logging-service: the request's logs from both producers, and the patient's audit trail.
    const logs = await eventually(async () => {
      const { body } = await call<{ items: { service: string; operation: string }[] }>(
        'logging-service',
        'GET',
        `/logs?correlationId=${correlationId}`,
      );
      const operations = body.items.map((l) => `${l.service}:${l.operation}`);
      return operations.includes('notification-service:notification.sent') ? operations : undefined;
    }, 30_000);
    expect(logs).toEqual(expect.arrayContaining(['monolith:pain.escalated']));
    const trail = await eventually(async () => {
      const { body } = await call<{ items: { sourceService: string; eventType: string }[] }>(
        'logging-service',
        'GET',
        `/audit/events?patientId=${patientId}&limit=100`,
        undefined,
        { authorization: `Bearer ${AUDIT_TOKEN}` },
      );
      const events = body.items.map((e) => `${e.sourceService}:${e.eventType}`);
      return events.includes('notification-service:notification.sent') ? events : undefined;
    }, 30_000);
    expect(trail).toEqual(
      expect.arrayContaining([
        'monolith:patient.created',
        'monolith:pain.escalated',
        'notification-service:escalation.opened',
        'notification-service:notification.sent',
      ]),
    );

    // analytics-service: counted from the analytics events logging-service published.
    const from = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    const rate = await eventually(async () => {
      const { body } = await call<{ assessments: number; escalations: number }>(
        'analytics-service',
        'GET',
        `/analytics/escalation-rate?from=${from}&ward=${ward}`,
      );
      return body.assessments === 2 && body.escalations === 1 ? body : undefined;
    }, 30_000);
    expect(rate).toMatchObject({ assessments: 2, escalations: 1 });
  }, 120_000);

  describe('a wrong password', () => {
    let spare: TestDatabase;
    beforeAll(async () => (spare = await createTestDatabase('kc_secure_wrong')));
    afterAll(async () => spare?.drop());

    it('stops the monolith at startup naming who was refused, without waiting for the broker', async () => {
      const { KAFKA_SASL_PASSWORD_FILE: _file, ...env } = secureEnv('monolith', spare.url);
      const config = {
        ...loadServiceConfig('monolith', { ...env, KAFKA_SASL_PASSWORD: 'not-the-password' }),
        host: '127.0.0.1',
      };
      // Its own logger: the testing one would mute the running services' logs from here on.
      const moduleRef = await Test.createTestingModule({ imports: [MonolithModule.register(config)] })
        .setLogger(new ConsoleLogger({ logLevels: config.logLevels }))
        .compile();
      const app = moduleRef.createNestApplication({ logger: config.logLevels });
      const started = Date.now();
      let failure: unknown;
      try {
        await app.init();
      } catch (error) {
        failure = error;
      } finally {
        await app.close().catch(() => undefined);
      }
      // The default startup budget is 60 s; a refusal ends the wait at once.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(failure).not.toBeInstanceOf(BrokerUnavailableError);
      expect(failure).toBeInstanceOf(KafkaAuthenticationError);
      expect((failure as Error).message).toBe(
        `Kafka at ${kafka.brokers.join(',')} refused to authenticate monolith: ` +
          'wrong user name or password, or an expired token',
      );
    });

    it('makes the broker health indicator report down: authentication failed', async () => {
      const client = new KafkajsClient({
        brokers: kafka.brokers,
        clientId: 'secure-e2e-wrong-password',
        security: {
          ...security('monolith'),
          sasl: { mechanism: 'SCRAM-SHA-512', username: 'monolith', password: 'not-the-password' },
        },
      });
      const indicator = new KafkaBrokerHealthIndicator(new HealthIndicatorService(), client, {
        brokers: kafka.brokers,
        clientId: 'secure-e2e-wrong-password',
        healthTimeoutMs: 10_000,
      } as KafkaCoreModuleOptions);
      try {
        expect(await indicator.isHealthy('kafka')).toEqual({
          kafka: { status: 'down', reason: 'authentication failed' },
        });
      } finally {
        await indicator.onApplicationShutdown();
      }
    });
  });

  describe('a missing CA file', () => {
    const missingCa = () => ({
      ...secureEnv('monolith', database.url),
      KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem',
    });

    it('is a configuration error naming the variable and the path', () => {
      let failure: unknown;
      try {
        loadServiceConfig('monolith', missingCa());
      } catch (error) {
        failure = error;
      }
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toContain(
        'KAFKA_SSL_CA_FILE names /nonexistent/ca.pem, which cannot be read (ENOENT)',
      );
    });

    it('makes the service process exit 1 with one "Cannot start" message and no stack', async () => {
      const child = spawn(
        process.execPath,
        ['-r', join(REPO, 'libs/kafka-core/test/fixtures/register.js'), 'apps/monolith/src/main.ts'],
        {
          cwd: REPO,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...missingCa() },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
      output.add(text);
      expect(code).toBe(1);
      // One line, naming the variable.
      const lines = text.split('\n').filter((line) => line.includes('Cannot start:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(
        'Cannot start: monolith: invalid configuration: KAFKA_SSL_CA_FILE names /nonexistent/ca.pem, which cannot be read (ENOENT)',
      );
      expect(text).not.toMatch(/^\s+at /m);
    }, 30_000);
  });

  describe('connections the broker does not accept', () => {
    it('refuses a plaintext client', async () => {
      const plain = new Kafka({
        clientId: 'secure-e2e-plaintext',
        brokers: kafka.brokers,
        logLevel: logLevel.NOTHING,
        connectionTimeout: 2_000,
        requestTimeout: 3_000,
        retry: { retries: 0 },
      }).admin();
      try {
        await expect(plain.connect().then(() => plain.describeCluster())).rejects.toThrow();
      } finally {
        await plain.disconnect();
      }
    });

    it('is refused by a TLS client that does not trust its CA: certificate rejected', async () => {
      const admin = clientAs('monolith', {}).admin();
      let failure: unknown;
      try {
        await admin.connect();
      } catch (error) {
        failure = error;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
      expect(failure).toBeInstanceOf(KafkaAuthenticationError);
      expect((failure as KafkaAuthenticationError).reason).toBe('certificate rejected');
    });
  });

  describe('the ACLs', () => {
    it('refuse analytics-service writing to audit-events, and nothing is written', async () => {
      const before = await endOffsetSum(observer, 'audit-events');
      const producer = clientAs('analytics-service').producer();
      await producer.connect();
      try {
        await expect(
          producer.send([{ topic: 'audit-events', records: [{ key: 'forged', value: '{"forged":true}' }] }]),
        ).rejects.toThrow('analytics-service is not authorized for Write on topic audit-events');
      } finally {
        await producer.disconnect();
      }
      expect(await endOffsetSum(observer, 'audit-events')).toBe(before);
    });

    it.each([
      [INTRUDER, `${INTRUDER}-audit-reader`],
      ['analytics-service', 'analytics-service-audit-reader'],
    ])('refuse %s reading audit-events', async (name, groupId) => {
      const consumer = clientAs(name).consumer({ groupId });
      await consumer.connect();
      let failure: unknown;
      try {
        await consumer.subscribe(['audit-events'], true);
        await consumer.run(async () => undefined, { partitionsConcurrently: 1 });
      } catch (error) {
        failure = error;
      } finally {
        await consumer.disconnect();
      }
      expect(failure).toBeInstanceOf(KafkaAuthorizationError);
      expect((failure as Error).message).toMatch(
        new RegExp(
          `^Kafka principal ${name} is not authorized for \\w+ on (topic audit-events|consumer group ${groupId})$`,
        ),
      );
    });
  });

  it('logged none of the passwords during the whole run, the broker logs included', () => {
    const brokerLogs = readdirSync(kafka.logDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.log'))
      .map((file) => readFileSync(join(kafka.logDir, file), 'utf8'));
    expect(brokerLogs.join('')).toContain('SASL_SSL');
    const logged = [output.text(), ...brokerLogs].join('\n');
    // The services logged at debug level, kafkajs included, so the check below can fail.
    expect(logged).toContain('Connecting to Kafka at');
    expect(logged).toMatch(/DEBUG.*\[kafkajs\]/);
    // Runs last: the refused service process's output is in it too.
    expect(logged).toContain('Cannot start:');
    const leaked = Object.entries(kafka.security.principals)
      .filter(([, user]) => logged.includes(user.password))
      .map(([name]) => name);
    expect(leaked).toEqual([]);
  });
});
