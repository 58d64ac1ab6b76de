import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Admin, Kafka, KafkaConfig, logLevel } from 'kafkajs';
import { endOffsetSum, uniqueName } from '../support/kafka';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startKafka } = require('../../scripts/kafka/kafka');

interface Principal {
  username: string;
  password: string;
  passwordFile: string;
  kcatConf: string;
}

interface SecureKafka {
  bootstrap: string;
  brokers: string[];
  security: {
    protocol: string;
    mechanism: string;
    dir: string;
    caFile: string;
    principals: Record<string, Principal>;
  };
  stop(): Promise<void>;
}

const STRANGER = 'stranger';
const kcatInstalled = spawnSync('kcat', ['-V'], { encoding: 'utf8' }).status === 0;

/** The local broker secured on request: SASL_SSL with SCRAM-SHA-512 only, ACLs from the topic table. */
describe('the secure local broker', () => {
  let kafka: SecureKafka;
  let admin: Admin;

  const client = (principal: string, overrides: Partial<KafkaConfig> = {}): Kafka => {
    const user = kafka.security.principals[principal];
    return new Kafka({
      clientId: `secure-test-${principal}`,
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      retry: { retries: 1, initialRetryTime: 100 },
      ssl: { ca: [readFileSync(kafka.security.caFile, 'utf8')] },
      sasl: { mechanism: 'scram-sha-512', username: user.username, password: user.password },
      ...overrides,
    });
  };

  /** What a refused call failed with: the broker's error code, or the client's error name. */
  const refusal = async (call: () => Promise<unknown>): Promise<string> => {
    try {
      await call();
    } catch (error) {
      const e = error as { type?: string; name?: string; cause?: { type?: string } };
      return e.type ?? e.cause?.type ?? e.name ?? String(error);
    }
    return 'not refused';
  };

  beforeAll(async () => {
    kafka = await startKafka({ port: 0, secure: true, extraPrincipals: [STRANGER] });
    admin = client('admin').admin();
    await admin.connect();
  }, 120_000);

  afterAll(async () => {
    await admin?.disconnect();
    await kafka?.stop();
  });

  it('describes how to connect, with one user per service plus admin and the extra principal', () => {
    expect(kafka.security.protocol).toBe('SASL_SSL');
    expect(kafka.security.mechanism).toBe('SCRAM-SHA-512');
    expect(Object.keys(kafka.security.principals).sort()).toEqual(
      ['admin', 'analytics-service', 'logging-service', 'monolith', 'notification-service', STRANGER].sort(),
    );
    const kcat = readFileSync(kafka.security.principals.monolith.kcatConf, 'utf8');
    expect(kcat).toContain(`bootstrap.servers=${kafka.bootstrap}`);
    expect(kcat).toContain(`ssl.ca.location=${kafka.security.caFile}`);
  });

  it('lets a service produce to a topic it produces and another consume it in its own group', async () => {
    const value = uniqueName('secure-record');
    // Idempotent like the services' producer: WRITE on the topic covers InitProducerId (Kafka >= 3.0).
    const producer = client('monolith').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'logging-events', acks: -1, messages: [{ key: 'k', value }] });
    await producer.disconnect();

    const consumer = client('logging-service').consumer({
      groupId: uniqueName('logging-service-secure-test'),
      maxWaitTimeInMs: 200,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: 'logging-events', fromBeginning: true });
    const seen = new Promise<string>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.value?.toString() === value) resolve(value);
        },
      });
    });
    try {
      await expect(seen).resolves.toBe(value);
    } finally {
      await consumer.disconnect();
    }
  });

  it('refuses a write to a topic the service does not produce, and nothing is written', async () => {
    const before = await endOffsetSum(admin, 'audit-events');
    const producer = client('analytics-service').producer({ retry: { retries: 0 } });
    await producer.connect();
    try {
      const error = await refusal(() =>
        producer.send({ topic: 'audit-events', messages: [{ value: 'forged audit event' }] }),
      );
      expect(error).toBe('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await producer.disconnect();
    }
    expect(await endOffsetSum(admin, 'audit-events')).toBe(before);
  });

  it('refuses a principal without grants reading the audit trail', async () => {
    const consumer = client(STRANGER).consumer({ groupId: `${STRANGER}-audit-reader` });
    await consumer.connect();
    try {
      const error = await refusal(() => consumer.subscribe({ topic: 'audit-events', fromBeginning: true }));
      expect(error).toBe('TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await consumer.disconnect();
    }
    const strangerAdmin = client(STRANGER).admin();
    await strangerAdmin.connect();
    try {
      expect(await refusal(() => strangerAdmin.fetchTopicOffsets('audit-events'))).toBe(
        'TOPIC_AUTHORIZATION_FAILED',
      );
    } finally {
      await strangerAdmin.disconnect();
    }
  });

  it('refuses a wrong password', async () => {
    const wrong = client('monolith', {
      sasl: { mechanism: 'scram-sha-512', username: 'monolith', password: 'not-the-password' },
      retry: { retries: 0 },
    }).admin();
    expect(await refusal(() => wrong.connect())).toBe('KafkaJSSASLAuthenticationError');
    await wrong.disconnect();
  });

  it('refuses a plaintext client', async () => {
    const plain = new Kafka({
      clientId: 'secure-test-plaintext',
      brokers: kafka.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 3000,
      retry: { retries: 0 },
    }).admin();
    let message = '';
    await plain
      .connect()
      .then(() => plain.describeCluster())
      .catch((error: Error) => (message = error.message));
    // The TLS listener drops a connection that does not start with a TLS handshake.
    expect(message).toMatch(/closed connection/i);
    await plain.disconnect();
  });

  it('refuses TLS from a client that does not trust its CA', async () => {
    const untrusting = client('monolith', { ssl: true, retry: { retries: 0 } }).admin();
    let message = '';
    await untrusting.connect().catch((error: Error) => (message = error.message));
    expect(message).toMatch(/certificate/i);
    await untrusting.disconnect();
  });

  (kcatInstalled ? describe : describe.skip)('with kcat -F <principal>.kcat.conf', () => {
    const kcat = (args: string[], input?: string) =>
      spawnSync('kcat', args, { input, encoding: 'utf8', timeout: 20_000 });
    const conf = (principal: string) => kafka.security.principals[principal].kcatConf;

    it('produces as monolith and reads it back as logging-service', () => {
      const value = uniqueName('kcat-record');
      const produced = kcat(['-F', conf('monolith'), '-P', '-t', 'logging-events'], `${value}\n`);
      expect({ status: produced.status, stderr: produced.stderr }).toEqual({
        status: 0,
        stderr: expect.not.stringMatching(/failed/i),
      });
      const consumed = kcat([
        '-F',
        conf('logging-service'),
        '-C',
        '-t',
        'logging-events',
        '-o',
        'beginning',
        '-e',
        '-q',
      ]);
      expect(consumed.status).toBe(0);
      expect(consumed.stdout.split('\n')).toContain(value);
    });

    it('is refused writing as analytics-service to audit-events', () => {
      const produced = kcat(['-F', conf('analytics-service'), '-P', '-t', 'audit-events'], 'forged\n');
      expect(produced.status).not.toBe(0);
      expect(produced.stderr).toMatch(/authorization failed/i);
    });

    it('is refused without TLS and SASL', () => {
      const listed = kcat(['-b', kafka.bootstrap, '-L', '-m', '3']);
      expect(listed.status).not.toBe(0);
      expect(listed.stdout).not.toContain('logging-events');
    });
  });
});
