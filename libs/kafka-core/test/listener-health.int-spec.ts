import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import {
  KafkaLagHealthIndicator,
  KafkaListener,
  KafkaListenerRegistry,
  KafkaListenersHealthIndicator,
  NonRetryableError,
  Payload,
} from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
  until,
} from '../../../test/support/listener-app';

const HEALTH = { stuckAfterMs: 1_500, lag: { warning: 5, critical: 20 } };

const records = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: JSON.stringify({ n: from + i }) }));

describe('listener and lag health (real broker)', () => {
  let admin: Admin;
  const apps: ListenerApp[] = [];
  // Holds the stuck handler until the suite ends; released before the apps close so they can stop.
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => (release = resolve));

  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });

  afterAll(async () => {
    release();
    await Promise.all(apps.map((app) => app.close()));
    await admin?.disconnect();
  });

  async function start(
    providers: Parameters<typeof startListenerApp>[0],
    health: Record<string, unknown> = {},
  ): Promise<ListenerApp> {
    const app = await startListenerApp(providers, { health: { ...HEALTH, ...health } });
    apps.push(app);
    return app;
  }

  const partitionsOf = (app: ListenerApp, id: string) =>
    Object.values(app.app.get(KafkaListenerRegistry).status(id).assignment).flat().length;
  const listenersHealth = (app: ListenerApp) =>
    app.app.get(KafkaListenersHealthIndicator).isHealthy('kafka-listeners')['kafka-listeners'];

  it('turns down with the stuck record once a handler runs past stuckAfterMs', async () => {
    const topic = await createTopic(admin, 'stuck', 1);
    let entered = false;

    @Injectable()
    class StuckListener {
      @KafkaListener({ id: 'stuck', topics: [topic], groupId: uniqueName('g-stuck'), fromBeginning: true })
      async handle(@Payload() _payload: unknown) {
        entered = true;
        await blocked;
      }
    }

    const app = await start([StuckListener]);
    await until(() => partitionsOf(app, 'stuck') === 1);
    expect(listenersHealth(app)).toMatchObject({
      status: 'up',
      listeners: { stuck: { state: 'running', status: 'up', partitions: 1, inFlight: 0 } },
    });

    await produce(topic, records(2));
    await until(() => entered);
    // Inside the handler, but not for long yet: busy is not stuck.
    expect(listenersHealth(app)).toMatchObject({
      status: 'up',
      listeners: { stuck: { status: 'up', inFlight: 1 } },
    });

    await until(() => listenersHealth(app).status === 'down');
    const stuck = listenersHealth(app).listeners.stuck;
    expect(stuck).toMatchObject({
      state: 'running',
      status: 'down',
      reason: 'stuck',
      stuck: { topic, partition: 0, offset: '0' },
    });
    expect(stuck.status === 'down' && stuck.stuck?.forMs).toBeGreaterThan(HEALTH.stuckAfterMs);
  });

  it('grades consumer lag against the thresholds while a listener is paused, and clears on resume', async () => {
    const topic = await createTopic(admin, 'lagging', 2);
    const handled: number[] = [];

    @Injectable()
    class LaggingListener {
      @KafkaListener({ id: 'lagging', topics: [topic], groupId: uniqueName('g-lag'), fromBeginning: true })
      handle(@Payload() payload: { n: number }) {
        handled.push(payload.n);
      }
    }

    const app = await start([LaggingListener]);
    const registry = app.app.get(KafkaListenerRegistry);
    // Pausing applies to assigned partitions, so wait for the assignment first.
    await until(() => partitionsOf(app, 'lagging') === 2);
    registry.pause('lagging');
    expect(registry.status('lagging').state).toBe('paused');

    const lagHealth = async () => {
      const result = (await app.app.get(KafkaLagHealthIndicator).isHealthy('kafka-lag'))['kafka-lag'];
      // Lag that could not be read is a failure of its own, reported as such by `until`.
      if (!('listeners' in result)) throw new Error(`lag unavailable: ${JSON.stringify(result)}`);
      return result;
    };
    // Lag is cached for a second: poll until the broker's view shows the records.
    const lagReaches = async (lag: number) => {
      await until(async () => (await lagHealth()).listeners.lagging?.lag === lag);
      return lagHealth();
    };

    await produce(topic, records(10));
    const warning = await lagReaches(10);
    expect(warning).toEqual({
      status: 'up',
      listeners: { lagging: { lag: 10, level: 'warning' } },
      thresholds: { warning: 5, critical: 20 },
    });

    await produce(topic, records(20, 10));
    const critical = await lagReaches(30);
    expect(critical.status).toBe('down');
    expect(critical.listeners.lagging).toEqual({ lag: 30, level: 'critical' });
    expect(handled).toHaveLength(0);

    registry.resume('lagging');
    const cleared = await lagReaches(0);
    expect(cleared).toMatchObject({ status: 'up', listeners: { lagging: { lag: 0, level: 'ok' } } });
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n));
  });

  it('reports a listener that does not start with the application as stopped, not failed', async () => {
    const topic = await createTopic(admin, 'dormant', 1);

    @Injectable()
    class DormantListener {
      @KafkaListener({ id: 'dormant', topics: [topic], groupId: uniqueName('g-dormant'), autoStartup: false })
      handle(@Payload() _payload: unknown) {}
    }

    const app = await start([DormantListener]);
    expect(listenersHealth(app)).toEqual({
      status: 'up',
      listeners: { dormant: { state: 'stopped', status: 'up', partitions: 0, inFlight: 0 } },
    });

    // Started later through the registry, it is reported as consuming.
    await app.app.get(KafkaListenerRegistry).start('dormant');
    await until(() => partitionsOf(app, 'dormant') === 1);
    expect(listenersHealth(app)).toMatchObject({
      status: 'up',
      listeners: { dormant: { state: 'running', status: 'up', partitions: 1 } },
    });
  });

  it('stays up but reports degraded, with the reason, while a dead letter is within the window', async () => {
    const topic = await createTopic(admin, 'dead-lettering', 1);
    const groupId = uniqueName('g-dead-lettering');
    const handled: number[] = [];

    @Injectable()
    class ConsentListener {
      @KafkaListener({ id: 'consent', topics: [topic], groupId, fromBeginning: true })
      handle(@Payload() payload: { n: number }) {
        if (payload.n === 0) throw new NonRetryableError('consent withdrawn');
        handled.push(payload.n);
      }
    }

    const app = await start([ConsentListener], { deadLetterWindowMs: 60_000 });
    await until(() => partitionsOf(app, 'consent') === 1);
    expect(listenersHealth(app)).toEqual({
      status: 'up',
      listeners: { consent: { state: 'running', status: 'up', partitions: 1, inFlight: 0 } },
    });

    // The second record is the marker: handled once the first one has been dead-lettered.
    await produce(topic, records(2));
    await until(() => handled.length === 1);
    const health = listenersHealth(app);
    expect(health).toMatchObject({
      status: 'up',
      degraded: true,
      listeners: {
        consent: {
          status: 'up',
          degraded: true,
          reasons: [{ reason: 'dead-lettered', agoMs: expect.any(Number) }],
        },
      },
    });
    const consent = health.listeners.consent;
    const agoMs = consent.status === 'up' ? (consent.reasons?.[0] as { agoMs: number }).agoMs : -1;
    expect(agoMs).toBeGreaterThanOrEqual(0);
    expect(agoMs).toBeLessThan(60_000);
  });
});
