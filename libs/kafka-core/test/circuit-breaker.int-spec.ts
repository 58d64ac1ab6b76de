import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { KafkaListener, KafkaListenerRegistry, ListenerStatus, Payload } from '@app/kafka-core';
import { endOffsetSum, rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { sleep, untilOr } from './support/listener-probes';

/** What a connection refused by the database or another dependency looks like (Node's net errors). */
const connectionRefused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

type Breaker = NonNullable<ListenerStatus['breaker']>;

/**
 * Item 3 of issue 11: transient failures past a threshold open the listener's breaker (no fetching),
 * after the cool-down one record probes (half-open), success closes it; nothing is lost and nothing
 * is dead-lettered because a dependency was down.
 */
describe('circuit breaker (real broker)', () => {
  let admin: Admin;
  let app: ListenerApp | undefined;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterEach(async () => {
    await app?.close().catch(() => undefined);
    app = undefined;
  });
  afterAll(() => admin.disconnect());

  it('a dependency down then up: closed, open, half-open, closed; no record lost, none dead-lettered', async () => {
    const topic = await createTopic(admin, 'breaker', 1);
    const groupId = uniqueName('g-breaker');
    let dependencyDown = true;
    // Set once the application is up; the handler reads the status through it.
    const live: { registry?: KafkaListenerRegistry } = {};
    const calls: { n: number; at: number; breaker?: Breaker['state']; ok: boolean }[] = [];
    // Breaker states in the order they were seen, by the status poller and by the handler itself.
    const seen: { state: Breaker['state']; at: number }[] = [];
    const note = (state: Breaker['state'] | undefined) => {
      if (state && seen[seen.length - 1]?.state !== state) seen.push({ state, at: Date.now() });
    };

    @Injectable()
    class ChartWriter {
      @KafkaListener({
        id: 'chart-writer',
        topics: [topic],
        groupId,
        fromBeginning: true,
        retry: {
          attempts: 3,
          initialDelayMs: 50,
          jitter: 0,
          transient: { initialDelayMs: 100, maxDelayMs: 200 },
        },
        circuitBreaker: { consecutiveFailures: 3, openMs: 1_500 },
      })
      async handle(@Payload() payload: { n: number }) {
        const state = live.registry?.status('chart-writer').breaker?.state;
        note(state);
        calls.push({ n: payload.n, at: Date.now(), breaker: state, ok: !dependencyDown });
        if (dependencyDown) throw connectionRefused();
        // Long enough for the poller to see the half-open probe from outside too.
        await sleep(20);
      }
    }

    const total = 10;
    await produce(
      topic,
      Array.from({ length: total }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    app = await startListenerApp([ChartWriter]);
    const reg: KafkaListenerRegistry = app.app.get(KafkaListenerRegistry);
    live.registry = reg;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        note(reg.status('chart-writer').breaker?.state);
        await sleep(20);
      }
    })();
    try {
      await untilOr(
        () => seen.some((s) => s.state === 'half-open'),
        () => ({ seen, status: reg.status('chart-writer') }),
        15_000,
      );
      // The dependency comes back while the breaker probes or waits for the next probe.
      dependencyDown = false;
      await untilOr(
        async () => (await committedOffsets(admin, groupId, topic))[0] === total,
        async () => ({ committed: await committedOffsets(admin, groupId, topic), seen }),
      );
      await untilOr(
        () => reg.status('chart-writer').breaker?.state === 'closed',
        () => reg.status('chart-writer'),
      );
    } finally {
      polling = false;
      await poller;
    }
    const status = reg.status('chart-writer');
    await app.close();
    app = undefined;

    const sequence = seen.map((s) => s.state).join(' → ');
    expect(sequence).toMatch(/^closed → open → half-open( → open → half-open)* → closed$/);
    // While open the listener fetched nothing: no handler call saw an open breaker.
    expect(calls.filter((c) => c.breaker === 'open')).toEqual([]);
    // Every record handled successfully once the dependency was back; none dead-lettered.
    const handled = calls.filter((c) => c.ok).map((c) => c.n);
    expect([...new Set(handled)].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n));
    expect(status.counters.deadLettered).toBe(0);
    expect(await endOffsetSum(admin, `${topic}-dlq`)).toBe(0);
  });
});
