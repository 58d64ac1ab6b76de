import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { AnalyticsServiceModule } from '../../apps/analytics-service/src/analytics-service.module';
import { eventually, RunningService, startService } from '../support/service-app';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { startKafka } = require('../../scripts/kafka/kafka');

interface KafkaHandle {
  bootstrap: string;
  nodes: { id: number }[];
  stop(): Promise<void>;
  killNode(id: number, signal?: string): Promise<void>;
  startNode(id: number): Promise<void>;
}

/** Readiness follows the broker: down within seconds when it goes away, up again when it returns. */
describe('readiness follows the broker', () => {
  let kafka: KafkaHandle;
  let database: TestDatabase;
  let service: RunningService;

  beforeAll(async () => {
    // A private broker: stopping the shared one would disturb the other suites.
    kafka = await startKafka({ port: 0 });
    database = await createTestDatabase('kc_ready');
    service = await startService('analytics-service', AnalyticsServiceModule, {
      KAFKA_BROKERS: kafka.bootstrap,
      DATABASE_URL: database.url,
    });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await database?.drop();
    await kafka?.stop();
  });

  const readyStatus = async () => (await fetch(`${service.url}/health/ready`)).status;

  it('turns 503 when the broker dies and 200 when it is back, without a restart', async () => {
    expect(await readyStatus()).toBe(200);

    const [node] = kafka.nodes;
    await kafka.killNode(node.id, 'SIGKILL');
    const downStarted = Date.now();
    await eventually(async () => ((await readyStatus()) === 503 ? true : undefined), 15_000, 250);
    const downAfterMs = Date.now() - downStarted;
    const body = (await (await fetch(`${service.url}/health/ready`)).json()) as {
      info: Record<string, { status: string }>;
      error: Record<string, { status: string }>;
    };
    expect(body.error.kafka.status).toBe('down');
    // The database is still fine and reported as such.
    expect(body.info.database.status).toBe('up');

    await kafka.startNode(node.id);
    await eventually(async () => ((await readyStatus()) === 200 ? true : undefined), 60_000, 250);
    expect(downAfterMs).toBeLessThan(10_000);
  }, 120_000);
});
