import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerRegistry, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { sleep, untilOr } from './support/listener-probes';

/** One handler call: which record, which attempt, when, and the listener state the handler saw. */
interface Call {
  n: number;
  partition: number;
  attempt: number;
  at: number;
  state?: string;
  listener: string;
}

/**
 * Item 6 of issue 11: an operator's pause holds across a retry and a rebalance until resume, and
 * the status never says paused while a partition is fetching. "Nothing handled while paused" is
 * proven positively: the records produced during the pause are all handled after the resume, and
 * every one of them started after the resume.
 */
describe('operator pause (real broker)', () => {
  let admin: Admin;
  const apps: ListenerApp[] = [];
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close().catch(() => undefined)));
  });
  afterAll(() => admin.disconnect());

  const start = async (...args: Parameters<typeof startListenerApp>) => {
    const app = await startListenerApp(...args);
    apps.push(app);
    return app;
  };

  it('holds across a retry whose backoff ends while paused: nothing is fetched until resume', async () => {
    const topic = await createTopic(admin, 'pause-retry', 2);
    const groupId = uniqueName('g-pause-retry');
    const calls: Call[] = [];
    // Set once the application is up; the handler reads the status through it.
    const live: { registry?: KafkaListenerRegistry } = {};
    let releaseFailure!: () => void;
    const failureGate = new Promise<void>((resolve) => (releaseFailure = resolve));

    @Injectable()
    class PausableListener {
      @KafkaListener({
        id: 'pausable',
        topics: [topic],
        groupId,
        fromBeginning: true,
        concurrency: 2,
        retry: { attempts: 3, initialDelayMs: 1_000, jitter: 0 },
      })
      async handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        calls.push({
          n: payload.n,
          partition: ctx.partition,
          attempt: ctx.attempt,
          at: Date.now(),
          state: live.registry?.status('pausable').state,
          listener: 'pausable',
        });
        if (payload.n === 0 && ctx.attempt === 1) {
          // In flight when the operator pauses; fails afterwards, so its retry is scheduled while paused.
          await failureGate;
          throw new Error('chart service unavailable');
        }
      }
    }

    await produce(topic, [{ value: JSON.stringify({ n: 0 }), partition: 0 }]);
    const app = await start([PausableListener]);
    const reg: KafkaListenerRegistry = app.app.get(KafkaListenerRegistry);
    live.registry = reg;
    await untilOr(
      () => calls.some((c) => c.n === 0),
      () => reg.status('pausable'),
    );

    const pausedAt = Date.now();
    reg.pause('pausable', 'ops-alice');
    const pausedStatus = reg.status('pausable');

    // The in-flight record fails now; its 1 s backoff runs out while the listener is paused.
    releaseFailure();
    await untilOr(
      () => reg.status('pausable').counters.retried >= 1,
      () => reg.status('pausable'),
    );
    await produce(
      topic,
      [1, 2, 3, 4, 5, 6].map((n) => ({ value: JSON.stringify({ n }), partition: n % 2 })),
    );
    // Sample the status through the backoff's end and a few fetch cycles after it.
    const states = new Set<string>();
    const sampleUntil = Date.now() + 3_000;
    while (Date.now() < sampleUntil) {
      states.add(reg.status('pausable').state);
      await sleep(50);
    }

    const resumedAt = Date.now();
    reg.resume('pausable', 'ops-alice');
    const resumed = reg.status('pausable');
    await untilOr(
      async () => {
        const offsets = await committedOffsets(admin, groupId, topic);
        return offsets[0] === 4 && offsets[1] === 3;
      },
      async () => ({ committed: await committedOffsets(admin, groupId, topic), calls }),
    );

    const afterTheGate = calls.filter((c) => !(c.n === 0 && c.attempt === 1));
    // The retry of record 0 and every record produced during the pause, each exactly once.
    expect(afterTheGate.map((c) => `${c.n}@${c.attempt}`).sort()).toEqual(
      ['0@2', '1@1', '2@1', '3@1', '4@1', '5@1', '6@1'].sort(),
    );
    const startedWhilePaused = afterTheGate.filter((c) => c.at < resumedAt);
    expect(startedWhilePaused).toEqual([]);
    // No handler ever ran while the status claimed the listener was paused.
    expect(calls.filter((c) => c.state === 'paused')).toEqual([]);
    expect([...states]).toEqual(['paused']);
    // The status says who paused it and since when, and forgets both on resume.
    expect(pausedStatus).toMatchObject({ state: 'paused', paused: { by: 'ops-alice' } });
    expect(pausedStatus.paused?.since).toBeGreaterThanOrEqual(pausedAt);
    expect({ state: resumed.state, paused: resumed.paused }).toEqual({ state: 'running', paused: undefined });
  });

  it('holds across a rebalance: a second member joins and leaves, the paused member handles nothing until resume', async () => {
    const topic = await createTopic(admin, 'pause-rebalance', 4);
    const groupId = uniqueName('g-pause-rebalance');
    const calls: Call[] = [];
    const registries: Record<string, KafkaListenerRegistry> = {};

    const member = (id: string) => {
      @Injectable()
      class MemberListener {
        @KafkaListener({ id, topics: [topic], groupId, fromBeginning: true, sessionTimeoutMs: 6_000 })
        handle(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
          calls.push({
            n: payload.n,
            partition: ctx.partition,
            attempt: ctx.attempt,
            at: Date.now(),
            state: registries[id]?.status(id).state,
            listener: id,
          });
        }
      }
      return MemberListener;
    };
    const assigned = (id: string) => Object.values(registries[id].status(id).assignment).flat().length;

    const first = await start([member('first')]);
    registries.first = first.app.get(KafkaListenerRegistry);
    await untilOr(
      () => assigned('first') === 4,
      () => registries.first.status('first'),
    );
    registries.first.pause('first', 'ops-bob');

    const second = await start([member('second')]);
    registries.second = second.app.get(KafkaListenerRegistry);
    await untilOr(
      () => assigned('second') > 0 && assigned('first') > 0 && assigned('first') < 4,
      () => ({ first: registries.first.status('first'), second: registries.second.status('second') }),
    );
    const sharedSince = registries.first.status('first').joinedAt ?? 0;
    await second.close();
    apps.splice(apps.indexOf(second), 1);
    // The partitions the second member gave back are assigned to the paused member later.
    await untilOr(
      () => assigned('first') === 4 && (registries.first.status('first').joinedAt ?? 0) > sharedSince,
      () => registries.first.status('first'),
    );
    const afterRebalance = registries.first.status('first');

    await produce(
      topic,
      Array.from({ length: 8 }, (_, n) => ({ value: JSON.stringify({ n }), partition: n % 4 })),
    );
    // Fetch cycles for every partition, the ones assigned after the pause included.
    await sleep(2_500);
    const resumedAt = Date.now();
    registries.first.resume('first', 'ops-bob');
    await untilOr(
      async () => {
        const offsets = await committedOffsets(admin, groupId, topic);
        return [0, 1, 2, 3].every((p) => offsets[p] === 2);
      },
      async () => ({ committed: await committedOffsets(admin, groupId, topic), calls }),
    );

    expect(calls.map((c) => c.n).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(calls.filter((c) => c.listener !== 'first')).toEqual([]);
    expect(calls.filter((c) => c.at < resumedAt)).toEqual([]);
    expect(calls.filter((c) => c.state === 'paused')).toEqual([]);
    expect(afterRebalance).toMatchObject({ state: 'paused', paused: { by: 'ops-bob' } });
  });
});
