import { PrivatePostgres } from '../../libs/kafka-core/test/support/private-postgres';
import { AnalyticsServiceModule } from '../../apps/analytics-service/src/analytics-service.module';
import { eventually, RunningService, startService } from '../support/service-app';

interface Readiness {
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string }>;
}

/**
 * A database restart is an ordinary fault: the service stays up (its held connections, the outbox
 * relay's LISTEN among them, see the server end them), readiness says the database is down while it
 * is, and everything comes back without a restart.
 */
describe('readiness follows the database', () => {
  let postgres: PrivatePostgres;
  let service: RunningService;

  beforeAll(async () => {
    // A private server: stopping the shared one would disturb the other suites.
    postgres = await PrivatePostgres.create();
    service = await startService('analytics-service', AnalyticsServiceModule, {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS,
      DATABASE_URL: postgres.url,
    });
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await postgres?.destroy();
  });

  const readiness = async () => {
    const response = await fetch(`${service.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as Readiness };
  };

  it('turns 503 naming the database while it is stopped, and 200 when it is back, without a restart', async () => {
    expect((await readiness()).status).toBe(200);

    await postgres.stop();
    const down = await eventually(
      async () => {
        const ready = await readiness();
        return ready.status === 503 ? ready : undefined;
      },
      15_000,
      250,
    );
    expect(down.body.error?.database?.status).toBe('down');
    expect(down.body.info?.kafka?.status).toBe('up');

    await postgres.start();
    const up = await eventually(
      async () => {
        const ready = await readiness();
        return ready.status === 200 ? ready : undefined;
      },
      60_000,
      250,
    );
    expect(up.body.info?.database?.status).toBe('up');
  }, 120_000);
});
