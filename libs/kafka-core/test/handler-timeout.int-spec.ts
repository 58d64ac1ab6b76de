import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Ctx, KafkaContext, KafkaListener, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
} from '../../../test/support/listener-app';
import { sleep, untilOr } from './support/listener-probes';

/** One handler call from start to settle, and what it saw of its abort signal. */
interface Span {
  id: string;
  attempt: number;
  start: number;
  end?: number;
  /** ms after the start at which ctx.signal fired (undefined: it never did). */
  abortedAfterMs?: number;
  /** ctx.signal.aborted, read 600 ms into the call. */
  abortedAt600?: boolean;
}

/**
 * Item 8 of issue 11: a timed-out handler keeps its key's slot until it settles, its context carries
 * an AbortSignal that fires at the timeout, and stop waits for it within the shutdown timeout.
 */
describe('handler timeouts (real broker)', () => {
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

  /** Runs the call, noting when its signal fires; `slowMs` is how long it ignores the signal. */
  async function traced(spans: Span[], id: string, ctx: KafkaContext, slowMs: number): Promise<void> {
    const span: Span = { id, attempt: ctx.attempt, start: Date.now() };
    spans.push(span);
    const signal = (ctx as KafkaContext & { signal?: AbortSignal }).signal;
    signal?.addEventListener('abort', () => (span.abortedAfterMs = Date.now() - span.start));
    try {
      if (slowMs > 600) {
        await sleep(600);
        span.abortedAt600 = signal?.aborted;
        await sleep(slowMs - 600);
      } else await sleep(slowMs);
    } finally {
      span.end = Date.now();
    }
  }

  it('the next record of a timed-out key, and its own retry, start only after the timed-out call settled', async () => {
    const topic = await createTopic(admin, 'timeout-order', 1);
    const groupId = uniqueName('g-timeout-order');
    const spans: Span[] = [];

    @Injectable()
    class SlowListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        concurrency: { keyOrdered: true, maxInFlight: 4 },
        handlerTimeoutMs: 500,
        retry: { attempts: 3, initialDelayMs: 100, jitter: 0 },
      })
      handle(@Payload() payload: { id: string }, @Ctx() ctx: KafkaContext) {
        // Record A ignores its signal on the first attempt and runs 3 s.
        const slowMs = payload.id === 'A' && ctx.attempt === 1 ? 3_000 : 10;
        return traced(spans, payload.id, ctx, slowMs);
      }
    }

    await produce(topic, [
      { key: 'patient-1', value: JSON.stringify({ id: 'A' }) },
      { key: 'patient-1', value: JSON.stringify({ id: 'B' }) },
      { key: 'patient-2', value: JSON.stringify({ id: 'C' }) },
    ]);
    apps.push(await startListenerApp([SlowListener]));
    await untilOr(
      async () => (await committedOffsets(admin, groupId, topic))[0] === 3,
      async () => ({ committed: await committedOffsets(admin, groupId, topic), spans }),
    );

    const [firstA] = spans.filter((s) => s.id === 'A' && s.attempt === 1);
    const later = spans.filter((s) => s !== firstA && s.id !== 'C');
    // Nothing of patient-1 ran beside the timed-out call: not B, not A's retry.
    expect(
      later.filter((s) => s.start < (firstA.end ?? Infinity)).map((s) => `${s.id}@${s.attempt}`),
    ).toEqual([]);
    // B once; A again only if the timeout counted as a failure, and then before B.
    const ids = later.map((s) => `${s.id}@${s.attempt}`);
    expect(ids.filter((id) => id !== 'A@2')).toEqual(['B@1']);
    const [retryOfA] = later.filter((s) => s.id === 'A');
    const [b] = later.filter((s) => s.id === 'B');
    if (retryOfA) expect(b.start).toBeGreaterThanOrEqual(retryOfA.end ?? Infinity);
    // The signal fired at the timeout, while the handler was still running.
    expect(firstA.abortedAt600).toBe(true);
    expect(firstA.abortedAfterMs).toBeGreaterThanOrEqual(480);
    expect(firstA.abortedAfterMs).toBeLessThan(1_500);
    // Another key was not held up by the timed-out one.
    const [c] = spans.filter((s) => s.id === 'C');
    expect(c.start).toBeLessThan(firstA.end ?? Infinity);
  });

  it('stop waits, within the shutdown timeout, for a timed-out handler that is still running', async () => {
    const topic = await createTopic(admin, 'timeout-stop', 1);
    const groupId = uniqueName('g-timeout-stop');
    const spans: Span[] = [];

    @Injectable()
    class SlowListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        handlerTimeoutMs: 300,
        // No retry starts during the test: only the first, timed-out call is in play.
        retry: { attempts: 3, initialDelayMs: 30_000, jitter: 0 },
      })
      handle(@Payload() payload: { id: string }, @Ctx() ctx: KafkaContext) {
        return traced(spans, payload.id, ctx, 2_500);
      }
    }

    await produce(topic, [{ key: 'patient-1', value: JSON.stringify({ id: 'A' }) }]);
    const app = await startListenerApp([SlowListener], { shutdownTimeoutMs: 8_000 });
    apps.push(app);
    await untilOr(
      () =>
        spans.some((s) => s.abortedAfterMs !== undefined) || spans.some((s) => Date.now() - s.start > 700),
      () => spans,
    );
    await app.close();
    const closedAt = Date.now();

    expect(spans).toHaveLength(1);
    // Settled (end set) no later than close returned.
    expect(spans[0].end ?? Infinity).toBeLessThanOrEqual(closedAt);
    expect(spans[0].abortedAfterMs).toBeGreaterThanOrEqual(280);
  });
});
