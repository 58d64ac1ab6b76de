import { randomUUID } from 'node:crypto';
import { Admin, Consumer, Producer } from 'kafkajs';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { ENVELOPE_HEADERS } from '@app/kafka-core';
import { FixtureProcess, spawnFixture } from './fixtures/spawn-fixture';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import { createTopic } from '../../../test/support/listener-app';

const SCHEMA = 'faults';
const KEYS = 8;

/**
 * Every PostgreSQL backend of a running service terminated (its LISTEN connection, the relay's leader
 * session, pooled connections, one in the middle of an inbox transaction), three times in a row while
 * records flow. The service runs in a child process, so "it stays up" is checked for real: pg emits
 * 'error' on a connection the server ended, and an unhandled one ends the process.
 */
describe('a service whose database connections are terminated while records flow (real PostgreSQL, real broker)', () => {
  let server: TestDatabase;
  let admin: Admin;
  let pg: Client;
  let producer: Producer;
  let observer: Consumer | undefined;
  let service: FixtureProcess | undefined;

  beforeAll(async () => {
    server = await createTestDatabase('kc_faults');
    pg = new Client({ connectionString: server.url });
    await pg.connect();
    admin = rawKafka().admin();
    await admin.connect();
    producer = rawKafka().producer();
    await producer.connect();
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await Promise.race([service.exited, new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
      service.child.kill('SIGKILL');
    }
    await observer?.disconnect();
    await producer?.disconnect();
    await admin?.disconnect();
    await pg?.end();
    await server?.drop();
  });

  jest.setTimeout(240_000);

  it('stays up, handles every record exactly once in effect and publishes every outbox event', async () => {
    const inTopic = await createTopic(admin, 'faults-in', 3);
    const outTopic = await createTopic(admin, 'faults-out', 3);
    // A distinctive application_name: the test terminates this service's backends and nothing else.
    const app = `faults_${randomUUID().slice(0, 8)}`;
    const url = new URL(server.url);
    url.searchParams.set('application_name', app);
    service = spawnFixture('inbox-service-process.ts', {
      DATABASE_URL: url.toString(),
      SCHEMA,
      IN_TOPIC: inTopic,
      OUT_TOPIC: outTopic,
      GROUP_ID: uniqueName('g-faults'),
      HANDLER_MS: '20',
    });
    const svc = service;
    const alive = () => svc.child.exitCode === null && svc.child.signalCode === null;
    // Waits for a condition, and fails at once, with the service's output, if the process exits.
    const check = async (condition: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (!alive()) throw new Error(`the service process exited\nservice output:\n${svc.output()}`);
        if (await condition()) return;
        if (Date.now() > deadline)
          throw new Error(`condition not met in time\nservice output:\n${svc.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await check(() => svc.output().includes('ready'));

    // What the relay published: the source event id of every outbox event, with repeats.
    const published: string[] = [];
    observer = rawKafka().consumer({ groupId: uniqueName('faults-observer'), maxWaitTimeInMs: 100 });
    await observer.connect();
    await observer.subscribe({ topic: outTopic, fromBeginning: true });
    await observer.run({
      eachMessage: async ({ message }) =>
        void published.push((JSON.parse(String(message.value)) as { sourceId: string }).sourceId),
    });

    // Records flow throughout: small batches, each record with its own event id.
    const sent: string[] = [];
    let producing = true;
    const flow = (async () => {
      for (let i = 0; producing; i++) {
        const batch = Array.from({ length: 5 }, (_, j) => {
          const id = `evt-${i}-${j}`;
          return { id, key: `k${(i * 5 + j) % KEYS}` };
        });
        await producer.send({
          topic: inTopic,
          acks: -1,
          messages: batch.map(({ id, key }) => ({
            key,
            value: JSON.stringify({ key }),
            headers: { [ENVELOPE_HEADERS.eventId]: id },
          })),
        });
        sent.push(...batch.map((b) => b.id));
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
    })();

    const effects = async () =>
      Number((await pg.query(`SELECT count(*) AS n FROM ${SCHEMA}.effects`)).rows[0].n as string);
    const backends = async () =>
      (
        await pg.query<{ state: string | null; in_tx: boolean }>(
          `SELECT state, xact_start IS NOT NULL AS in_tx FROM pg_stat_activity WHERE application_name = $1`,
          [app],
        )
      ).rows;

    let terminatedInTransaction = 0;
    try {
      await check(async () => (await effects()) >= 20);
      for (let round = 0; round < 3; round++) {
        // Strike while an inbox transaction is open (the handler holds it ~20 ms) when one shows up.
        await check(async () => (await backends()).some((b) => b.state === 'idle in transaction'), 30_000);
        const { rows } = await pg.query<{ in_tx: boolean; terminated: boolean }>(
          `SELECT xact_start IS NOT NULL AND state <> 'idle' AS in_tx, pg_terminate_backend(pid) AS terminated
             FROM pg_stat_activity WHERE application_name = $1`,
          [app],
        );
        expect(rows.length).toBeGreaterThanOrEqual(2);
        if (rows.some((r) => r.in_tx)) terminatedInTransaction++;
        // Recovered: new effects are written, and the relay listens and leads again.
        const before = await effects();
        await check(async () => (await effects()) >= before + 10);
      }
    } finally {
      producing = false;
      await flow;
    }
    expect(terminatedInTransaction).toBeGreaterThanOrEqual(1);

    // Every record sent was handled (one effect each) and its outbox event published.
    const outboxLeft = async () =>
      Number((await pg.query(`SELECT count(*) AS n FROM ${SCHEMA}.kafka_outbox`)).rows[0].n as string);
    await check(
      async () =>
        (await effects()) >= sent.length &&
        new Set(published).size >= sent.length &&
        (await outboxLeft()) === 0,
      90_000,
    );
    expect(alive()).toBe(true);
    const { rows: counts } = await pg.query<{ event_id: string; n: string }>(
      `SELECT event_id, count(*) AS n FROM ${SCHEMA}.effects GROUP BY event_id`,
    );
    const effectsById = new Map(counts.map((r) => [r.event_id, Number(r.n)]));
    expect([...effectsById.keys()].sort()).toEqual([...sent].sort());
    expect([...effectsById.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...new Set(published)].sort()).toEqual([...sent].sort());
  });
});
