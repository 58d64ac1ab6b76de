import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import { Ctx, KafkaContext, KafkaListener, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  produce,
  startListenerApp,
  TestRecord,
  keyedRecords,
  Sequenced,
} from '../../../test/support/listener-app';
import { eventually } from '../../../test/support/service-app';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function expectedEnds(records: TestRecord[]): Record<number, number> {
  const ends: Record<number, number> = {};
  for (const r of records) ends[r.partition as number] = (ends[r.partition as number] ?? 0) + 1;
  return ends;
}

/** Counts handlers running at once and remembers the highest count seen. */
class ConcurrencyGauge {
  private current = 0;
  max = 0;

  async around<T>(work: () => Promise<T>): Promise<T> {
    this.current++;
    this.max = Math.max(this.max, this.current);
    try {
      return await work();
    } finally {
      this.current--;
    }
  }
}

/** Keys whose sequence numbers were not handled strictly increasing, with the offending order. */
function keyOrderViolations(handled: Sequenced[]): string[] {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const { key, seq } of handled) {
    const previous = last.get(key);
    if (previous !== undefined && seq <= previous) violations.push(`${key}: ${seq} after ${previous}`);
    last.set(key, seq);
  }
  return violations;
}

async function waitForCommits(
  admin: Admin,
  groupId: string,
  topic: string,
  expected: Record<number, number>,
) {
  // Committed positions must land exactly on the partition ends: not short (redelivery) nor past them.
  return eventually(async () => {
    const offsets = await committedOffsets(admin, groupId, topic);
    return JSON.stringify(offsets) === JSON.stringify(expected) ? offsets : undefined;
  }, 30_000).catch(async (error: Error) => {
    throw new Error(
      `${error.message}; committed ${JSON.stringify(await committedOffsets(admin, groupId, topic))}, expected ${JSON.stringify(expected)}`,
    );
  });
}

describe('listener concurrency (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('key-ordered: keys run in parallel, each key strictly in order, and it beats serial handling', async () => {
    const parallelTopic = await createTopic(admin, 'key-ordered', 3);
    const serialTopic = await createTopic(admin, 'key-serial', 3);
    const parallelGroup = uniqueName('g-key-ordered');
    const serialGroup = uniqueName('g-key-serial');
    const runs = {
      parallel: { handled: [] as Sequenced[], gauge: new ConcurrencyGauge(), first: 0, last: 0 },
      serial: { handled: [] as Sequenced[], gauge: new ConcurrencyGauge(), first: 0, last: 0 },
    };
    const handle = async (run: (typeof runs)['parallel'], payload: Sequenced) => {
      if (run.first === 0) run.first = performance.now();
      await run.gauge.around(async () => {
        run.handled.push(payload);
        await sleep(5);
      });
      run.last = performance.now();
    };

    @Injectable()
    class KeyOrderedListeners {
      @KafkaListener({
        topics: [parallelTopic],
        groupId: parallelGroup,
        fromBeginning: true,
        concurrency: { keyOrdered: true, maxInFlight: 32 },
      })
      parallel(@Payload() payload: Sequenced) {
        return handle(runs.parallel, payload);
      }

      @KafkaListener({
        topics: [serialTopic],
        groupId: serialGroup,
        fromBeginning: true,
        concurrency: { keyOrdered: true, maxInFlight: 1 },
      })
      serial(@Payload() payload: Sequenced) {
        return handle(runs.serial, payload);
      }
    }

    const records = keyedRecords(600, 20, 3);
    await produce(parallelTopic, records);
    await produce(serialTopic, records);
    const app = await startListenerApp([KeyOrderedListeners]);
    try {
      await eventually(
        async () =>
          runs.parallel.handled.length >= 600 && runs.serial.handled.length >= 600 ? true : undefined,
        30_000,
      );
      await waitForCommits(admin, parallelGroup, parallelTopic, expectedEnds(records));
      await waitForCommits(admin, serialGroup, serialTopic, expectedEnds(records));
    } finally {
      await app.close();
    }

    for (const run of [runs.parallel, runs.serial]) {
      expect(run.handled).toHaveLength(600);
      expect(new Set(run.handled.map((h) => `${h.key}:${h.seq}`)).size).toBe(600);
      expect(keyOrderViolations(run.handled)).toEqual([]);
    }
    // 20 keys can run at once, never more than the configured bound.
    expect(runs.parallel.gauge.max).toBeGreaterThan(1);
    expect(runs.parallel.gauge.max).toBeLessThanOrEqual(20);
    expect(runs.serial.gauge.max).toBe(1);

    const parallelMs = runs.parallel.last - runs.parallel.first;
    const serialMs = runs.serial.last - runs.serial.first;
    console.log(
      `key-ordered maxInFlight 32: ${parallelMs.toFixed(0)} ms (max ${runs.parallel.gauge.max} at once); ` +
        `maxInFlight 1: ${serialMs.toFixed(0)} ms; speedup ${(serialMs / parallelMs).toFixed(1)}x`,
    );
    // Ideally ~20x (20 keys); 3x leaves room for a busy two-core machine.
    expect(serialMs).toBeGreaterThanOrEqual(3 * parallelMs);
  });

  it('concurrency 3: partitions are handled in parallel, each one in offset order', async () => {
    const topic = await createTopic(admin, 'partitions', 3);
    const groupId = uniqueName('g-partitions');
    const spans: { partition: number; offset: number; start: number; end: number }[] = [];
    const gauge = new ConcurrencyGauge();

    @Injectable()
    class PartitionListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, concurrency: 3 })
      async handle(@Ctx() ctx: KafkaContext) {
        const start = performance.now();
        await gauge.around(() => sleep(20));
        spans.push({ partition: ctx.partition, offset: Number(ctx.offset), start, end: performance.now() });
      }
    }

    const records = Array.from({ length: 60 }, (_, n) => ({
      value: JSON.stringify({ n }),
      partition: n % 3,
    }));
    await produce(topic, records);
    const app = await startListenerApp([PartitionListener]);
    try {
      await eventually(async () => (spans.length >= 60 ? true : undefined), 30_000);
      await waitForCommits(admin, groupId, topic, { 0: 20, 1: 20, 2: 20 });
    } finally {
      await app.close();
    }

    expect(spans).toHaveLength(60);
    for (const partition of [0, 1, 2]) {
      const own = spans.filter((s) => s.partition === partition).sort((a, b) => a.start - b.start);
      // Started in offset order, each one after the previous had finished.
      expect(own.map((s) => s.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (let i = 1; i < own.length; i++) expect(own[i].start).toBeGreaterThanOrEqual(own[i - 1].end);
    }
    const overlapsAcrossPartitions = spans.some((a) =>
      spans.some((b) => a.partition !== b.partition && a.start < b.end && b.start < a.end),
    );
    expect(overlapsAcrossPartitions).toBe(true);
    expect(gauge.max).toBeGreaterThan(1);
    expect(gauge.max).toBeLessThanOrEqual(3);
  });

  it('maxInFlight 2 caps key-ordered parallelism (maxInFlight 32) at two handlers at once', async () => {
    const topic = await createTopic(admin, 'bounded', 3);
    const groupId = uniqueName('g-bounded');
    const handled: Sequenced[] = [];
    const gauge = new ConcurrencyGauge();

    @Injectable()
    class BoundedListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        concurrency: { keyOrdered: true, maxInFlight: 32 },
        maxInFlight: 2,
      })
      async handle(@Payload() payload: Sequenced) {
        await gauge.around(async () => {
          handled.push(payload);
          await sleep(5);
        });
      }
    }

    const records = keyedRecords(120, 20, 3);
    await produce(topic, records);
    const app = await startListenerApp([BoundedListener]);
    try {
      await eventually(async () => (handled.length >= 120 ? true : undefined), 30_000);
      await waitForCommits(admin, groupId, topic, expectedEnds(records));
    } finally {
      await app.close();
    }

    expect(new Set(handled.map((h) => `${h.key}:${h.seq}`)).size).toBe(120);
    expect(keyOrderViolations(handled)).toEqual([]);
    // The listener-wide bound applies whatever the concurrency mode: 20 keys would allow 20.
    expect(gauge.max).toBeLessThanOrEqual(2);
  });

  it('rateLimit 50: 100 records take at least ~1.5 s', async () => {
    const topic = await createTopic(admin, 'rate-limited', 1);
    const groupId = uniqueName('g-rate-limited');
    const starts: number[] = [];

    @Injectable()
    class RateLimitedListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, rateLimit: 50 })
      handle() {
        starts.push(performance.now());
      }
    }

    await produce(
      topic,
      Array.from({ length: 100 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    const app = await startListenerApp([RateLimitedListener]);
    try {
      await eventually(async () => (starts.length >= 100 ? true : undefined), 30_000);
      await waitForCommits(admin, groupId, topic, { 0: 100 });
    } finally {
      await app.close();
    }

    expect(starts).toHaveLength(100);
    const elapsedMs = starts[99] - starts[0];
    const busiestSecond = Math.max(
      ...starts.map((t) => starts.filter((u) => u >= t && u < t + 1_000).length),
    );
    console.log(
      `rateLimit 50/s: 100 records in ${elapsedMs.toFixed(0)} ms, at most ${busiestSecond} within one second`,
    );
    // 50 per second: the 100th record cannot start before ~2 s; 1.5 s tolerates timer coarseness.
    expect(elapsedMs).toBeGreaterThanOrEqual(1_500);
  });
});
