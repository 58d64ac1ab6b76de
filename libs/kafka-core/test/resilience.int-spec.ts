import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Admin, Producer } from 'kafkajs';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerRegistry, Payload } from '@app/kafka-core';
import { FixtureProcess, spawnFixture } from './fixtures/spawn-fixture';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import {
  committedOffsets,
  createTopic,
  ListenerApp,
  produce,
  startListenerApp,
  TestRecord,
  keyedRecords,
  Sequenced,
} from '../../../test/support/listener-app';
import { eventually } from '../../../test/support/service-app';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface HandledLine {
  id: string;
  key: string;
  seq: number;
  partition: number;
  offset: number;
}

const idOf = (r: TestRecord) => {
  const { key, seq } = JSON.parse(r.value as string) as Sequenced;
  return `${key}:${seq}`;
};

/** What a listener process has written so far: one line per finished handler. */
function readHandled(file: string): HandledLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [id, partition, offset] = line.split(' ');
      const [key, seq] = id.split(':');
      return { id, key, seq: Number(seq), partition: Number(partition), offset: Number(offset) };
    });
}

function keyOrderViolations(handled: Pick<HandledLine, 'key' | 'seq'>[]): string[] {
  const last = new Map<string, number>();
  const violations: string[] = [];
  for (const { key, seq } of handled) {
    const previous = last.get(key);
    if (previous !== undefined && seq <= previous) violations.push(`${key}: ${seq} after ${previous}`);
    last.set(key, seq);
  }
  return violations;
}

function duplicatesOf(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

const processes: FixtureProcess[] = [];

/** Runs fixtures/listener-process.ts in a child process with the library's TypeScript sources. */
function startListenerProcess(env: Record<string, string>): FixtureProcess {
  const handle = spawnFixture('listener-process.ts', env);
  processes.push(handle);
  return handle;
}

/** The promise's value, or 'timed out' after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => (timer = setTimeout(() => resolve('timed out'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe`, and names what the child process printed when it never comes true. */
async function eventuallyWith<T>(proc: FixtureProcess, probe: () => Promise<T | undefined>, everyMs = 100) {
  try {
    return await eventually(probe, 30_000, everyMs);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nlistener process output:\n${proc.output()}`);
  }
}

describe('listener resilience (real broker)', () => {
  let admin: Admin;
  let workDir: string;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
    workDir = mkdtempSync(join(tmpdir(), 'kafka-core-resilience-'));
  });
  afterEach(() => {
    for (const { child } of processes.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await admin.disconnect();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('SIGKILL mid-batch: a new process on the same group loses nothing and keeps per-key order', async () => {
    const topic = await createTopic(admin, 'sigkill', 3);
    const groupId = uniqueName('g-sigkill');
    const records = keyedRecords(2000, 30, 3);
    await produce(topic, records);
    const env = {
      TOPIC: topic,
      GROUP_ID: groupId,
      CONCURRENCY: 'key:4',
      HANDLER_MS: '1',
      // One slow key keeps a record unfinished while later ones complete and get committed around it.
      SLOW_KEY: 'k0',
      SLOW_MS: '30',
      // Frequent commits, so the kill lands shortly after one.
      COMMIT_INTERVAL_MS: '20',
      // The killed member holds its partitions until its session expires: keep that short.
      SESSION_TIMEOUT_MS: '6000',
    };

    const firstFile = join(workDir, 'sigkill-1.txt');
    const first = startListenerProcess({ ...env, OUT_FILE: firstFile });
    await eventuallyWith(first, async () => (readHandled(firstFile).length >= 300 ? true : undefined), 5);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const firstRun = readHandled(firstFile);
    // A commit the process sent just before dying may still be on its way to the broker.
    await sleep(300);
    const committed = await committedOffsets(admin, groupId, topic);
    expect(firstRun.length).toBeLessThan(2000);

    // Whatever was committed must have been handled: a commit never passes an unfinished record.
    const firstByPartition = (p: number) =>
      new Set(firstRun.filter((h) => h.partition === p).map((h) => h.offset));
    for (const partition of [0, 1, 2]) {
      const handled = firstByPartition(partition);
      const unhandledBelowCommit = Array.from(
        { length: Math.max(0, committed[partition]) },
        (_, o) => o,
      ).filter((o) => !handled.has(o));
      expect({ partition, unhandledBelowCommit }).toEqual({ partition, unhandledBelowCommit: [] });
    }

    const secondFile = join(workDir, 'sigkill-2.txt');
    const second = startListenerProcess({ ...env, OUT_FILE: secondFile });
    const allIds = records.map(idOf);
    await eventuallyWith(second, async () => {
      const seen = new Set([...firstRun, ...readHandled(secondFile)].map((h) => h.id));
      return allIds.every((id) => seen.has(id)) ? true : undefined;
    });
    const secondRun = readHandled(secondFile);

    const lost = allIds.filter((id) => !new Set([...firstRun, ...secondRun].map((h) => h.id)).has(id));
    expect(lost).toEqual([]);
    // The second process starts exactly at the committed positions: it re-handles precisely the
    // records the first one finished past them, and nothing twice itself.
    const redelivered = firstRun
      .filter((h) => h.offset >= Math.max(0, committed[h.partition]))
      .map((h) => h.id);
    const duplicates = duplicatesOf([...firstRun, ...secondRun].map((h) => h.id));
    expect(duplicatesOf(secondRun.map((h) => h.id))).toBe(0);
    expect(duplicates).toBe(redelivered.length);
    expect(duplicates).toBeLessThanOrEqual(firstRun.length);
    expect(keyOrderViolations(firstRun)).toEqual([]);
    expect(keyOrderViolations(secondRun)).toEqual([]);
    console.log(
      `SIGKILL after ${firstRun.length} handled, committed ${JSON.stringify(committed)}: ` +
        `${duplicates} duplicate(s), ${lost.length} lost`,
    );
  });

  it.each([
    ['partitions in parallel', '3'],
    ['key-ordered', 'key:2'],
  ])(
    'SIGTERM while records are in flight (%s): exits 0 after committing exactly what it handled',
    async (_mode, concurrency) => {
      const topic = await createTopic(admin, 'sigterm', 3);
      const groupId = uniqueName('g-sigterm');
      const records = keyedRecords(30, 6, 3);
      await produce(topic, records);
      const shutdownTimeoutMs = 5_000;
      const env = {
        TOPIC: topic,
        GROUP_ID: groupId,
        CONCURRENCY: concurrency,
        HANDLER_MS: '200',
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      };

      const firstFile = join(workDir, `sigterm-${concurrency}-1.txt`);
      const first = startListenerProcess({ ...env, OUT_FILE: firstFile });
      // From here on, records are always in their 200 ms handlers.
      await eventuallyWith(first, async () => (readHandled(firstFile).length >= 4 ? true : undefined), 10);
      const signalledAt = Date.now();
      first.child.kill('SIGTERM');
      const exit = await withTimeout(first.exited, shutdownTimeoutMs + 5_000);
      expect({ exit, output: first.output() }).toEqual({
        exit: { code: 0, signal: null },
        output: expect.any(String),
      });
      const exitMs = Date.now() - signalledAt;
      const firstRun = readHandled(firstFile);
      // In-flight records were finished, not abandoned: more than at the signal, fewer than all.
      expect(firstRun.length).toBeGreaterThan(4);
      expect(firstRun.length).toBeLessThan(30);

      // Each partition's handled records are a prefix 0..n-1, and n is exactly what got committed.
      const committed = await committedOffsets(admin, groupId, topic);
      for (const partition of [0, 1, 2]) {
        const offsets = firstRun.filter((h) => h.partition === partition).map((h) => h.offset);
        expect({ partition, offsets: offsets.sort((a, b) => a - b) }).toEqual({
          partition,
          offsets: Array.from({ length: committed[partition] }, (_, o) => o),
        });
      }

      const secondFile = join(workDir, `sigterm-${concurrency}-2.txt`);
      const second = startListenerProcess({ ...env, OUT_FILE: secondFile, HANDLER_MS: '20' });
      await eventuallyWith(second, async () =>
        firstRun.length + readHandled(secondFile).length >= 30 ? true : undefined,
      );
      // Stopped: its file is final, so a duplicate handled late would be in it.
      second.child.kill('SIGTERM');
      expect(await withTimeout(second.exited, shutdownTimeoutMs + 5_000)).toEqual({ code: 0, signal: null });
      const secondRun = readHandled(secondFile);
      const all = [...firstRun, ...secondRun].map((h) => h.id);
      expect(duplicatesOf(all)).toBe(0);
      expect(new Set(all)).toEqual(new Set(records.map(idOf)));
      const offsets = await committedOffsets(admin, groupId, topic);
      expect(offsets).toEqual({ 0: 10, 1: 10, 2: 10 });
      console.log(
        `SIGTERM (${concurrency}): first process handled ${firstRun.length} and exited in ${exitMs} ms; second handled ${secondRun.length}`,
      );
    },
  );

  it('two instances of one group: one joins, the other leaves, while records keep coming; nothing is lost', async () => {
    const topic = await createTopic(admin, 'two-instances', 3);
    const groupId = uniqueName('g-two-instances');
    const handled: { instance: string; id: string }[] = [];

    const listenerFor = (instance: string) => {
      @Injectable()
      class InstanceListener {
        @KafkaListener({
          id: instance,
          topics: [topic],
          groupId,
          fromBeginning: true,
          concurrency: { keyOrdered: true, maxInFlight: 8 },
          sessionTimeoutMs: 6_000,
        })
        async handle(@Payload() payload: Sequenced) {
          await sleep(2);
          handled.push({ instance, id: `${payload.key}:${payload.seq}` });
        }
      }
      return InstanceListener;
    };

    const producer: Producer = rawKafka().producer();
    await producer.connect();
    const produced: string[] = [];
    let producing = true;
    const seqs = new Map<string, number>();
    const production = (async () => {
      while (producing) {
        const messages = Array.from({ length: 10 }, (_, i) => {
          const key = `k${(produced.length + i) % 12}`;
          const seq = seqs.get(key) ?? 0;
          seqs.set(key, seq + 1);
          return { key, value: JSON.stringify({ key, seq }) };
        });
        await producer.send({ topic, acks: -1, messages });
        produced.push(...messages.map((m) => `${m.key}:${JSON.parse(m.value).seq}`));
        await sleep(50);
      }
    })();

    let first: ListenerApp | undefined;
    let second: ListenerApp | undefined;
    try {
      first = await startListenerApp([listenerFor('first')]);
      await eventually(async () => (handled.some((h) => h.instance === 'first') ? true : undefined), 30_000);
      second = await startListenerApp([listenerFor('second')]);
      const assigned = (app: ListenerApp) =>
        Object.values(app.app.get(KafkaListenerRegistry).list()[0].assignment).flat().length;
      // The group rebalanced: both instances own partitions and the newcomer handles records.
      await eventually(
        async () => (second && assigned(second) > 0 && first && assigned(first) > 0 ? true : undefined),
        30_000,
      );
      const joinedAt = handled.length;
      await eventually(
        async () => (handled.slice(joinedAt).some((h) => h.instance === 'second') ? true : undefined),
        30_000,
      );
      await first.close();
      first = undefined;
      await eventually(async () => (second && assigned(second) === 3 ? true : undefined), 30_000);
      await sleep(500);
      producing = false;
      await production;
      const seen = () => new Set(handled.map((h) => h.id));
      await eventually(async () => (produced.every((id) => seen().has(id)) ? true : undefined), 30_000);
    } finally {
      producing = false;
      await production.catch(() => undefined);
      await producer.disconnect();
      await first?.close();
      await second?.close();
    }

    const seen = new Set(handled.map((h) => h.id));
    expect(produced.filter((id) => !seen.has(id))).toEqual([]);
    const byInstance = (instance: string) => handled.filter((h) => h.instance === instance).length;
    expect(byInstance('first')).toBeGreaterThan(0);
    expect(byInstance('second')).toBeGreaterThan(0);
    console.log(
      `two instances: ${produced.length} produced, first handled ${byInstance('first')}, second ${byInstance('second')}, ` +
        `${duplicatesOf(handled.map((h) => h.id))} duplicate(s)`,
    );
  });

  it('a retry backoff longer than the session timeout keeps the group membership', async () => {
    const inOrderTopic = await createTopic(admin, 'long-backoff', 1);
    const keyOrderedTopic = await createTopic(admin, 'long-backoff-keyed', 1);
    const inOrderGroup = uniqueName('g-long-backoff');
    const keyOrderedGroup = uniqueName('g-long-backoff-keyed');
    const calls: Record<string, { n: number; attempt: number; at: number }[]> = {
      inOrder: [],
      keyOrdered: [],
    };
    const options = {
      fromBeginning: true,
      sessionTimeoutMs: 6_000,
      retry: { attempts: 2, initialDelayMs: 8_000, jitter: 0 },
      deadLetter: false as const,
    };
    const handle = (mode: string, n: number, ctx: KafkaContext) => {
      calls[mode].push({ n, attempt: ctx.attempt, at: Date.now() });
      if (n === 0 && ctx.attempt === 1) throw new Error('first attempt fails');
    };

    @Injectable()
    class SlowRetryListeners {
      @KafkaListener({ ...options, id: 'inOrder', topics: [inOrderTopic], groupId: inOrderGroup })
      inOrder(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        handle('inOrder', payload.n, ctx);
      }

      @KafkaListener({
        ...options,
        id: 'keyOrdered',
        topics: [keyOrderedTopic],
        groupId: keyOrderedGroup,
        concurrency: { keyOrdered: true, maxInFlight: 4 },
      })
      keyOrdered(@Payload() payload: { n: number }, @Ctx() ctx: KafkaContext) {
        handle('keyOrdered', payload.n, ctx);
      }
    }

    const records = [0, 1, 2].map((n) => ({ key: `k${n}`, value: JSON.stringify({ n }) }));
    await produce(inOrderTopic, records);
    await produce(keyOrderedTopic, records);
    const members = async (groupId: string) => {
      const { groups } = await admin.describeGroups([groupId]);
      return { state: groups[0].state, members: groups[0].members.map((m) => m.memberId) };
    };

    const app = await startListenerApp([SlowRetryListeners]);
    const observed: Record<string, { state: string; members: string[] }[]> = { inOrder: [], keyOrdered: [] };
    try {
      await eventually(
        async () => (calls.inOrder.length > 0 && calls.keyOrdered.length > 0 ? true : undefined),
        30_000,
      );
      // Watch both groups through the whole backoff: a member silent past its session would be
      // removed, the group would rebalance, and the consumer would come back with a new member id.
      while (calls.inOrder.length < 4 || calls.keyOrdered.length < 4) {
        observed.inOrder.push(await members(inOrderGroup));
        observed.keyOrdered.push(await members(keyOrderedGroup));
        if (Date.now() - calls.inOrder[0].at > 20_000) break;
        await sleep(250);
      }
      await eventually(async () =>
        (await committedOffsets(admin, inOrderGroup, inOrderTopic))[0] === 3 ? true : undefined,
      );
      await eventually(async () =>
        (await committedOffsets(admin, keyOrderedGroup, keyOrderedTopic))[0] === 3 ? true : undefined,
      );
      const counters = app.app
        .get(KafkaListenerRegistry)
        .list()
        .map((s) => [s.id, s.counters.retried, s.counters.processed]);
      expect(counters).toEqual(
        expect.arrayContaining([
          ['inOrder', 1, 3],
          ['keyOrdered', 1, 3],
        ]),
      );
    } finally {
      await app.close();
    }

    const order = (mode: string) => calls[mode].map((c) => `${c.n}@${c.attempt}`);
    // In partition order the failed record blocks the partition; key-ordered, only its own key waits.
    expect(order('inOrder')).toEqual(['0@1', '0@2', '1@1', '2@1']);
    expect(order('keyOrdered')).toEqual(['0@1', '1@1', '2@1', '0@2']);
    for (const mode of ['inOrder', 'keyOrdered']) {
      const [firstAttempt, retry] = calls[mode].filter((c) => c.n === 0);
      expect(retry.at - firstAttempt.at).toBeGreaterThanOrEqual(7_900);
      expect(observed[mode].length).toBeGreaterThan(10);
      expect(new Set(observed[mode].map((o) => o.state))).toEqual(new Set(['Stable']));
      const memberIds = new Set(observed[mode].flatMap((o) => o.members));
      expect(memberIds.size).toBe(1);
      expect(observed[mode].every((o) => o.members.length === 1)).toBe(true);
    }
  });
});
