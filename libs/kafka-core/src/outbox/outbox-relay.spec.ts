import { Logger } from '@nestjs/common';
import { FakeBroker } from '../../test/fakes/fake-broker';
import { FakeOutboxDatabase } from '../../test/fakes/fake-outbox-database';
import { OutboxRelay } from './outbox-relay';
import { OUTBOX_RELAY_DEFAULTS, OutboxRelayOptions } from './outbox-relay.options';

/** Polls a condition the test waits for (a positive signal, never a fixed sleep). */
async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves to how long `promise` took, or 'too slow' past `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<number | 'too slow'> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    promise.then(() => Date.now() - started),
    new Promise<'too slow'>((resolve) => (timer = setTimeout(() => resolve('too slow'), ms))),
  ]);
  clearTimeout(timer);
  return result;
}

const FAST: OutboxRelayOptions = {
  ...OUTBOX_RELAY_DEFAULTS,
  pollIntervalMs: 10,
  leaderRetryMs: 10,
  rowBackoff: { attempts: 2, initialDelayMs: 5, multiplier: 1, maxDelayMs: 5, jitter: 0 },
  brokerBackoff: { initialDelayMs: 5, multiplier: 1, maxDelayMs: 5, jitter: 0 },
  stopTimeoutMs: 200,
};

describe('OutboxRelay against in-memory fakes of the database and the broker', () => {
  let db: FakeOutboxDatabase;
  const relays: OutboxRelay[] = [];

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => (db = new FakeOutboxDatabase()));
  afterEach(async () => {
    db.hanging = false;
    await Promise.all(relays.splice(0).map((relay) => relay.stop()));
  });

  function start(broker: FakeBroker, options: Partial<OutboxRelayOptions> = {}, on = db): OutboxRelay {
    const relay = new OutboxRelay(on, broker.send, { ...FAST, ...options });
    relays.push(relay);
    relay.start();
    return relay;
  }

  it('a request refused on one partition: what the broker wrote is done and never sent again', async () => {
    // D lives on partition 0, K on partition 1; K0 is refused, so its partition's batch (K0, K1) is too.
    const broker = new FakeBroker((_, key) => (key === 'K' ? 1 : 0));
    const [d0, d1, k0, k1] = [
      db.enqueue('t', 'D'),
      db.enqueue('t', 'D'),
      db.enqueue('t', 'K'),
      db.enqueue('t', 'K'),
    ];
    broker.refuse.add(k0);
    let d2 = '';
    // A later row of D commits while the relay deals with the refusal.
    broker.beforeAnswer = () => void (d2 ||= db.enqueue('t', 'D'));
    const relay = start(broker);

    await until(() => db.rows.length === 0 && db.dead.length === 1);

    // Each key's exact sequence, duplicates included: D0 D1 went out once, in the first request.
    expect(broker.log('t', 0)).toEqual([d0, d1, d2]);
    expect(broker.log('t', 1)).toEqual([k1]);
    expect(db.dead.map((r) => [r.id, r.attempts])).toEqual([[k0, 2]]);
    // K1 was never sent ahead of K0: every request carrying K1 carried K0 before it, or came after
    // K0 was parked (then K0 is in no later request).
    const lastWithK0 = broker.requests.map((r) => r.ids.includes(k0)).lastIndexOf(true);
    const firstK1Alone = broker.requests.findIndex((r) => r.ids.includes(k1) && !r.ids.includes(k0));
    expect(firstK1Alone).toBeGreaterThan(lastWithK0);
    expect(relay.counters).toMatchObject({ published: 4, parked: 1 });
  });

  it('a request to two topics, one refused: the other topic is done and never sent again', async () => {
    const broker = new FakeBroker();
    const a0 = db.enqueue('ta', 'A');
    const b0 = db.enqueue('tb', 'B');
    const a1 = db.enqueue('ta', 'A');
    const b1 = db.enqueue('tb', 'B');
    broker.refuse.add(b0);
    start(broker);

    await until(() => db.rows.length === 0 && db.dead.length === 1);
    expect(broker.log('ta', 0)).toEqual([a0, a1]);
    expect(broker.log('tb', 0)).toEqual([b1]);
    expect(db.dead.map((r) => r.id)).toEqual([b0]);
  });

  it('a follower retries the lock on the one session it holds, not on a new backend each time', async () => {
    const broker = new FakeBroker();
    const leader = start(broker);
    await until(() => leader.counters.leader);
    const follower = start(broker);
    const followerTries = () =>
      [...db.lockAttempts].filter(([session]) => session !== db.leaderSession).reduce((n, [, c]) => n + c, 0);
    await until(() => followerTries() >= 20);

    const followerSessions = [...db.lockAttempts.keys()].filter((session) => session !== db.leaderSession);
    expect(followerSessions).toHaveLength(1);
    expect(db.sessionsOpened).toBe(2);
    expect(follower.counters.leader).toBe(false);

    // The leader leaves; the follower takes over on the session it kept.
    await leader.stop();
    await until(() => follower.counters.leader);
    expect(db.leaderSession).toBe(followerSessions[0]);
  });

  it('a leader that finds its lock gone deletes nothing and publishes nothing more until it leads again', async () => {
    const broker = new FakeBroker();
    const ids = Array.from({ length: 6 }, () => db.enqueue('t', 'L'));
    let lostAt = -1;
    broker.beforeAnswer = () => {
      if (lostAt >= 0) return;
      // While the first batch is on its way, the lock goes to someone else (the connection lives on).
      lostAt = broker.requests.length;
      db.lockHolder = 'outsider';
    };
    const relay = start(broker, { batchSize: 2 });
    const triesSince = () => [...db.lockAttempts.values()].reduce((n, c) => n + c, 0);
    await until(() => lostAt >= 0);
    const triesAtLoss = triesSince();
    // Either it noticed and went back to trying the lock, or it kept publishing: wait for one of them.
    await until(() => triesSince() >= triesAtLoss + 2 || broker.requests.length >= lostAt + 2);

    expect(broker.requests.length).toBe(lostAt);
    expect(relay.counters.leader).toBe(false);
    // The batch it sent is still there: whoever leads next publishes it (at least once).
    expect(db.rows.map((r) => r.id)).toEqual(ids);

    db.lockHolder = undefined;
    await until(() => db.rows.length === 0);
    expect(broker.log('t', 0)).toEqual([ids[0], ids[1], ...ids]);
  });

  it('a leader whose session is terminated re-elects on a new session and publishes the rest', async () => {
    const broker = new FakeBroker();
    const ids = Array.from({ length: 4 }, () => db.enqueue('t', 'S'));
    let terminated = false;
    broker.beforeAnswer = () => {
      if (terminated) return;
      terminated = true;
      db.terminate(db.leaderSession as number);
    };
    const relay = start(broker);
    await until(() => db.rows.length === 0);

    // Acknowledged, then not deleted (the session died in between): sent again, as after a crash.
    expect(broker.log('t', 0)).toEqual([...ids, ...ids]);
    expect(db.sessionsOpened).toBe(2);
    expect(relay.counters.leader).toBe(true);
  });

  it('stop during the broker backoff returns at once', async () => {
    const broker = new FakeBroker();
    broker.unreachable = true;
    db.enqueue('t', 'B');
    const relay = start(broker, {
      brokerBackoff: { initialDelayMs: 60_000, multiplier: 1, maxDelayMs: 60_000, jitter: 0 },
    });
    await until(() => broker.requests.length >= 1 && relay.counters.failed >= 1);

    expect(await within(relay.stop(), 1_000)).not.toBe('too slow');
    expect(broker.requests).toHaveLength(1);
  });

  it('stop returns within its bound while the database does not answer', async () => {
    const broker = new FakeBroker();
    const relay = start(broker);
    await until(() => relay.counters.leader && db.relayIdle);
    db.hanging = true;

    expect(await within(relay.stop(), 2_000)).not.toBe('too slow');
  });

  it('stop returns within its bound while a send does not answer', async () => {
    const broker = new FakeBroker();
    broker.hanging = true;
    db.enqueue('t', 'H');
    const relay = start(broker);
    await until(() => broker.requests.length === 1);

    expect(await within(relay.stop(), 2_000)).not.toBe('too slow');
  });
});
