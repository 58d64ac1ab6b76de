import { randomBytes, randomUUID } from 'node:crypto';
import { Admin } from 'kafkajs';
import { TOPICS } from '@app/contracts';
import { createTestDatabase, TestDatabase } from '@app/database/testing/test-database';
import { LoggingServiceModule } from '../../apps/logging-service/src/logging-service.module';
import type { LogEntry } from '../../apps/logging-service/src/log-entries/log-entries.repository';
import { endOffsetSum, rawKafka, testBrokers, uniqueName } from '../support/kafka';
import { committedOffsets, produce, TestRecord, until } from '../support/listener-app';
import { RunningService, reserveService, startService } from '../support/service-app';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, as far as /metrics uses it: one sample per line, comments skipped. */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`Not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const raw = match[3];
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

class Metrics {
  constructor(readonly samples: Sample[]) {}

  select(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  }

  /** Sum over the matching series; undefined when there is none (absent is not zero). */
  sum(name: string, labels: Record<string, string> = {}): number | undefined {
    const matching = this.select(name, labels);
    return matching.length === 0 ? undefined : matching.reduce((total, s) => total + s.value, 0);
  }
}

const GROUP = 'logging-service';
const LISTENER = 'operation-logs';
const LISTENER_LABELS = { topic: TOPICS.loggingEvents, group: GROUP, listener: LISTENER };
const N = 20;
const M = 15;

interface ListenerView {
  id: string;
  groupId: string;
  topics: string[];
  state: string;
  assignment: Record<string, number[]>;
  lag: { total: number; partitions: { topic: string; partition: number; lag: number }[] } | null;
  inFlight: number;
  counters: { processed: number; failed: number; deadLettered: number; commits: number };
  paused: { since: number; by: string } | null;
}

interface LagView {
  thresholds: { warning: number; critical: number };
  total: number;
  listeners: { listenerId: string; groupId: string; total: number; level: string }[];
}

/**
 * What an operator sees of a running service: Prometheus metrics, the health endpoints and the
 * admin API, checked against what really happened to records on the broker and rows in the database.
 */
describe('operations: metrics, health and admin of a running service', () => {
  const token = randomBytes(16).toString('hex');
  // Tags this suite's rows, so counts ignore whatever other suites left in the topic.
  const service = uniqueName('ops');
  let database: TestDatabase;
  let logging: RunningService;
  let admin: Admin;
  let releaseProducers: (() => void)[] = [];
  /** The listener's counters once the records other suites left on the topic were handled. */
  let baseline: { processed: number; failed: number; deadLettered: number };

  beforeAll(async () => {
    database = await createTestDatabase('kc_ops');
    logging = await startService('logging-service', LoggingServiceModule, {
      KAFKA_BROKERS: testBrokers().join(','),
      DATABASE_URL: database.url,
      KAFKA_ADMIN_TOKEN: token,
    });
    // Exact counts: the services that publish operation logs stay off the topic meanwhile.
    for (const producer of ['notification-service', 'monolith'] as const) {
      releaseProducers.push(await reserveService(producer, testBrokers()));
    }
    admin = rawKafka().admin();
    await admin.connect();
    // Exact counts need this instance to own every partition of the group.
    await until(async () => {
      const view = await listener();
      const owned = view.assignment[TOPICS.loggingEvents] ?? [];
      if (view.state === 'running' && owned.length === 3) return true;
      throw new Error(
        `${LISTENER} holds partitions [${owned}] of ${TOPICS.loggingEvents}; another member of group ` +
          `${GROUP} (a suite running the logging-service at the same time?) holds the rest`,
      );
    });
    await until(fullyCommitted, 30_000);
    const { counters } = await listener();
    baseline = {
      processed: counters.processed,
      failed: counters.failed,
      deadLettered: counters.deadLettered,
    };
  });

  afterAll(async () => {
    for (const release of releaseProducers) release();
    releaseProducers = [];
    await admin?.disconnect();
    await logging?.close();
    await database?.drop();
  });

  const authorized = (init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { ...init.headers, authorization: `Bearer ${token}` },
  });

  /** The operation-logs listener's lag from GET /kafka/lag (the service has other listeners). */
  const operationLogsLag = async () =>
    (await adminJson<LagView>('/kafka/lag')).listeners.find((l) => l.listenerId === LISTENER)?.total;

  async function adminJson<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await fetch(`${logging.url}${path}`, authorized(init));
    const text = await response.text();
    // Status and body together, so a failure shows the server's reason.
    expect({ path, status: response.status, text }).toEqual({ path, status: 200, text: expect.any(String) });
    return JSON.parse(text) as T;
  }

  async function listener(): Promise<ListenerView> {
    const views = await adminJson<ListenerView[]>('/kafka/listeners');
    const view = views.find((v) => v.id === LISTENER);
    if (!view) throw new Error(`${LISTENER} is not listed: ${JSON.stringify(views)}`);
    return view;
  }

  async function scrape(): Promise<Metrics> {
    const response = await fetch(`${logging.url}/metrics`);
    expect(response.status).toBe(200);
    return new Metrics(parseMetrics(await response.text()));
  }

  async function storedRows(): Promise<number> {
    const response = await fetch(`${logging.url}/logs?service=${service}&limit=500`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: LogEntry[] }).items.length;
  }

  function operationLogs(count: number, from: number): TestRecord[] {
    return Array.from({ length: count }, (_, i) => ({
      key: `k${from + i}`,
      value: JSON.stringify({
        service,
        level: 'info',
        operation: `op-${from + i}`,
        message: 'done',
        occurredAt: new Date().toISOString(),
      }),
      headers: { 'event-id': randomUUID() },
    }));
  }

  /** The group has committed everything on the topic (read independently of the service). */
  async function fullyCommitted(): Promise<boolean> {
    const offsets = await committedOffsets(admin, GROUP, TOPICS.loggingEvents);
    const committed = Object.values(offsets).reduce((sum, o) => sum + Math.max(o, 0), 0);
    return committed === (await endOffsetSum(admin, TOPICS.loggingEvents));
  }

  async function lagMetric(): Promise<number> {
    const lag = (await scrape()).sum('kafka_core_consumer_lag_records', {
      topic: TOPICS.loggingEvents,
      group: GROUP,
    });
    // Absent means the lag could not be read, not zero.
    if (lag === undefined) throw new Error(`no kafka_core_consumer_lag_records series for ${GROUP}`);
    return lag;
  }

  it('counts handled, dead-lettered and committed records in /metrics', async () => {
    await produce(TOPICS.loggingEvents, [
      ...operationLogs(N, 0),
      // A key of its own: walking-skeleton finds its poison record on the dead-letter topic by key.
      { key: uniqueName('ops-poison'), value: '{not json', headers: { 'event-id': randomUUID() } },
    ]);

    await until(async () => (await storedRows()) === N);
    // Counters are final once the group committed past the last record (they move before the commit).
    await until(fullyCommitted);
    // The lag series is cached for a second; it catches up with the commits above.
    await until(async () => (await lagMetric()) === 0);
    // Each stored log's analytics fact leaves through the outbox; the relay drains it shortly after.
    await until(async () => (await scrape()).sum('kafka_core_outbox_backlog_rows') === 0);

    const metrics = await scrape();
    const counted = (name: string) => metrics.sum(name, LISTENER_LABELS) ?? 0;
    expect(counted('kafka_core_listener_records_processed_total')).toBe(baseline.processed + N);
    expect(counted('kafka_core_listener_records_dead_lettered_total')).toBe(baseline.deadLettered + 1);
    expect(counted('kafka_core_listener_records_failed_total')).toBe(baseline.failed + 1);
    expect(
      metrics.sum('kafka_core_listener_processing_duration_seconds_count', LISTENER_LABELS),
    ).toBeGreaterThanOrEqual(N);
    expect(
      metrics.sum('kafka_core_listener_offset_commits_total', { group: GROUP, listener: LISTENER }),
    ).toBeGreaterThan(0);
    expect(metrics.sum('kafka_core_listener_running', { group: GROUP, listener: LISTENER })).toBe(1);
    expect(metrics.sum('kafka_core_listener_in_flight_records', { group: GROUP, listener: LISTENER })).toBe(
      0,
    );
    // One series per partition of the topic, each at zero.
    const lag = metrics.select('kafka_core_consumer_lag_records', {
      topic: TOPICS.loggingEvents,
      group: GROUP,
    });
    expect(lag.map((s) => s.labels.partition).sort()).toEqual(['0', '1', '2']);
    expect(lag.every((s) => s.value === 0)).toBe(true);
    expect(metrics.sum('kafka_core_broker_connectivity')).toBe(1);

    // The outbox relay runs (the service has a database) with nothing waiting.
    expect(metrics.sum('kafka_core_outbox_backlog_rows')).toBe(0);
    expect(metrics.sum('kafka_core_outbox_parked_rows')).toBe(0);
    expect(metrics.sum('kafka_core_outbox_oldest_age_seconds')).toBeDefined();
    // The one instance leads: it published the outbox rows above.
    expect(metrics.sum('kafka_core_outbox_relay_leader')).toBe(1);
    expect(metrics.sum('kafka_core_outbox_published_total')).toBeDefined();

    // The dead letter went out through the publisher, which measured it.
    expect(
      metrics.sum('kafka_core_producer_records_sent_total', { topic: `${TOPICS.loggingEvents}-dlq` }),
    ).toBe(baseline.deadLettered + 1);
    expect(metrics.sum('kafka_core_producer_request_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(metrics.sum('kafka_core_producer_records_failed_total') ?? 0).toBe(0);

    // Node's default metrics come along on the same endpoint.
    expect(metrics.sum('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(metrics.sum('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metrics.select('nodejs_eventloop_lag_seconds')).toHaveLength(1);
  });

  it('reports every component on /health, liveness and readiness, without broker addresses', async () => {
    const response = await fetch(`${logging.url}/health`);
    const text = await response.text();
    expect(response.status).toBe(200);
    const body = JSON.parse(text) as {
      status: string;
      info: Record<string, { status: string } & Record<string, unknown>>;
      error: Record<string, unknown>;
    };
    expect(body.error).toEqual({});
    expect(body.status).toBe('ok');
    expect(Object.keys(body.info).sort()).toEqual(
      ['database', 'kafka', 'kafka-lag', 'kafka-listeners', 'outbox'].sort(),
    );
    expect(Object.values(body.info).every((i) => i.status === 'up')).toBe(true);
    expect(body.info['kafka-listeners']).toMatchObject({ listeners: { [LISTENER]: { status: 'up' } } });
    expect(body.info['kafka-lag']).toMatchObject({ listeners: { [LISTENER]: { lag: 0, level: 'ok' } } });
    const port = testBrokers()[0].split(':')[1];
    expect(text).not.toContain('127.0.0.1:');
    expect(text).not.toMatch(new RegExp(`\\b${port}\\b`));

    const live = await fetch(`${logging.url}/health/live`);
    expect(live.status).toBe(200);
    expect(((await live.json()) as { info: Record<string, { status: string }> }).info['event-loop']).toEqual(
      expect.objectContaining({ status: 'up' }),
    );
    expect((await fetch(`${logging.url}/health/ready`)).status).toBe(200);
  });

  it('refuses the admin API without the right bearer token', async () => {
    expect((await fetch(`${logging.url}/kafka/listeners`)).status).toBe(401);
    const wrong = await fetch(`${logging.url}/kafka/listeners`, {
      headers: { authorization: `Bearer ${randomBytes(16).toString('hex')}` },
    });
    expect(wrong.status).toBe(401);
    // The token without the scheme is not a bearer token either.
    expect((await fetch(`${logging.url}/kafka/lag`, { headers: { authorization: token } })).status).toBe(401);
    const pause = await fetch(`${logging.url}/kafka/listeners/${LISTENER}/pause`, { method: 'POST' });
    expect(pause.status).toBe(401);
    expect((await listener()).state).toBe('running');
  });

  it('lists the listeners with state, assignment, lag, in-flight records and counters', async () => {
    const view = await listener();
    expect(view).toMatchObject({
      id: LISTENER,
      groupId: GROUP,
      topics: [TOPICS.loggingEvents],
      state: 'running',
      assignment: { [TOPICS.loggingEvents]: [0, 1, 2] },
      lag: { total: 0 },
      inFlight: 0,
      counters: {
        processed: baseline.processed + N,
        failed: baseline.failed + 1,
        deadLettered: baseline.deadLettered + 1,
      },
    });
    expect(view.lag?.partitions).toHaveLength(3);
    expect(view.counters.commits).toBeGreaterThan(0);

    const lag = await adminJson<LagView>('/kafka/lag');
    expect(lag.thresholds).toEqual({ warning: 1000, critical: 5000 });
    // The service has other listeners too (the audit trail); this suite watches the operation logs.
    expect(lag.listeners).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ listenerId: LISTENER, groupId: GROUP, total: 0, level: 'ok' }),
      ]),
    );
  });

  it('holds records back while paused, and drains them after resume', async () => {
    try {
      const paused = await adminJson<ListenerView>(`/kafka/listeners/${LISTENER}/pause`, {
        method: 'POST',
        // Who paused: the token proves the right; the name is the caller's own (and sanitised).
        headers: { 'x-actor': 'ops <nurse-joy>' },
      });
      expect(paused.state).toBe('paused');
      expect(paused.paused?.by).toBe('admin-token (opsnurse-joy)');
      const pausedMetrics = await scrape();
      expect(pausedMetrics.sum('kafka_core_listener_paused', { group: GROUP, listener: LISTENER })).toBe(1);
      expect(
        pausedMetrics.sum('kafka_core_listener_pause_actions_total', {
          group: GROUP,
          listener: LISTENER,
          action: 'pause',
        }),
      ).toBe(1);

      await produce(TOPICS.loggingEvents, operationLogs(M, N));
      await until(async () => (await operationLogsLag()) === M);
      await until(async () => (await lagMetric()) === M);
      // A paused listener fetches nothing: after a few fetch cycles the records are still waiting.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await storedRows()).toBe(N);
      expect(await operationLogsLag()).toBe(M);
      const whilePaused = await listener();
      expect(whilePaused.state).toBe('paused');
      expect(whilePaused.counters.processed).toBe(baseline.processed + N);
      expect((await fetch(`${logging.url}/health/ready`)).status).toBe(200);

      const resumed = await adminJson<ListenerView>(`/kafka/listeners/${LISTENER}/resume`, {
        method: 'POST',
      });
      expect(resumed.state).toBe('running');
      expect(resumed.paused).toBeNull();
    } finally {
      // Resuming a running listener changes nothing; a failure above must not leave it paused.
      await fetch(`${logging.url}/kafka/listeners/${LISTENER}/resume`, authorized({ method: 'POST' }));
    }
    await until(async () => (await storedRows()) === N + M);
    await until(async () => (await operationLogsLag()) === 0);
    await until(async () => (await lagMetric()) === 0);
    const metrics = await scrape();
    expect(metrics.sum('kafka_core_listener_records_processed_total', LISTENER_LABELS)).toBe(
      baseline.processed + N + M,
    );
    expect(metrics.sum('kafka_core_listener_records_dead_lettered_total', LISTENER_LABELS) ?? 0).toBe(
      baseline.deadLettered + 1,
    );
  });

  it('answers 404 for a listener that does not exist', async () => {
    for (const action of ['pause', 'resume']) {
      const response = await fetch(
        `${logging.url}/kafka/listeners/no-such-listener/${action}`,
        authorized({ method: 'POST' }),
      );
      expect(response.status).toBe(404);
    }
    expect((await listener()).state).toBe('running');
  });
});
