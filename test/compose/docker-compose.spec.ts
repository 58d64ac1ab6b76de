import { AclBinding } from '../support/acl-binding';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { parse } from 'yaml';
import {
  SERVICE_DEFAULT_PORTS,
  SERVICE_ENV,
  SERVICE_SETTINGS_ENV,
  SERVICE_NAMES,
} from '../../libs/platform/src/config/service-env';
import { HEALTH_DEFAULTS } from '../../libs/kafka-core/src/kafka-core.options';
import { KAFKA_METRICS } from '../../libs/kafka-core/src/metrics/metric-names';

/*
 * No Docker engine runs where the tests run, so the dev environment (docker-compose.yml, Dockerfile and
 * the files under docker/) is checked by structure: each assertion names a mistake that would only
 * show up at `docker compose up` otherwise.
 */

const ROOT = join(__dirname, '..', '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

type Env = Record<string, string | number | boolean | null> | string[];
interface PortMapping {
  host: number;
  container: number;
}
interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> | string[] };
  user?: string;
  restart?: string;
  healthcheck?: { test?: string | string[]; disable?: boolean; start_period?: string };
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: Env;
  ports?: (string | number | { target: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  entrypoint?: string | string[];
  profiles?: string[];
  secrets?: (string | { source: string; target?: string })[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string; external?: boolean }>;
}

// merge: true resolves the `<<: *anchor` keys the file uses to share the service block.
const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const services = compose.services;
const ourServices = SERVICE_NAMES.map((name) => ({ name, service: services[name] }));

/** Environment as a map, whichever of the two compose syntaxes is used. */
function envOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const at = entry.indexOf('=');
        return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

/** Published ports from short (`[ip:]host:container[/proto]`) or long syntax. */
function portsOf(service: ComposeService): PortMapping[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return { host: Number(port.published), container: Number(port.target) };
    }
    const parts = String(port)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const container = Number(parts[parts.length - 1]);
    // A bare container port gets a random host port; NaN marks it as "not published at a fixed port".
    const host = parts.length >= 2 ? Number(parts[parts.length - 2]) : NaN;
    return { host, container };
  });
}

function healthcheckText(service: ComposeService): string {
  const test = service.healthcheck?.test;
  return Array.isArray(test) ? test.join(' ') : (test ?? '');
}

function buildArgs(service: ComposeService): Record<string, string> {
  const build = service.build;
  if (!build || typeof build === 'string' || !build.args) return {};
  const args = build.args;
  if (Array.isArray(args)) {
    return Object.fromEntries(args.map((a) => [a.split('=')[0], a.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, String(v)]));
}

/** `repo[:port]/name:tag` split into name and tag (undefined when absent). */
function imageTag(image: string): { name: string; tag?: string } {
  const withoutDigest = image.split('@')[0];
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash
    ? { name: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) }
    : { name: withoutDigest };
}

function databaseOf(url: string): string {
  return new URL(url).pathname.replace(/^\//, '');
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\r?\n/g, ' ');
  return logical
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const space = line.search(/\s/);
      return space < 0
        ? { op: line.toUpperCase(), args: '' }
        : { op: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
}

describe('docker-compose.yml', () => {
  it('uses the Compose Specification (no version key) and defines the whole stack', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['kafka', 'kafka-ui', 'postgres', 'prometheus', 'grafana', ...SERVICE_NAMES]),
    );
  });

  it.each(Object.keys(services))(
    '%s has an image or build, a healthcheck test and a restart policy',
    (name) => {
      const service = services[name];
      expect(service.image ?? service.build).toBeDefined();
      expect(service.healthcheck?.disable).not.toBe(true);
      expect(healthcheckText(service)).not.toBe('');
      expect(['always', 'unless-stopped', 'on-failure']).toContain(service.restart?.replace(/:\d+$/, ''));
    },
  );

  it('pins every image to an explicit, non-latest tag', () => {
    for (const [name, service] of Object.entries(services)) {
      if (!service.image) continue;
      const { tag } = imageTag(service.image);
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^[\w][\w.-]*$/) });
      expect({ name, tag }).not.toEqual({ name, tag: 'latest' });
    }
  });

  it('runs Kafka 3.9.x from the official image in KRaft mode, reachable from containers and the host', () => {
    const kafka = services.kafka;
    const { name, tag } = imageTag(kafka.image ?? '');
    expect(name).toBe('apache/kafka');
    expect(tag).toMatch(/^3\.9\.\d+$/);

    const env = envOf(kafka);
    expect(env.KAFKA_PROCESS_ROLES.split(',').sort()).toEqual(['broker', 'controller']);
    expect(env.KAFKA_NODE_ID).toBeDefined();
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(new RegExp(`^${env.KAFKA_NODE_ID}@`));
    expect(env.KAFKA_ZOOKEEPER_CONNECT).toBeUndefined();
    // A single broker cannot hold more replicas of its internal topics than one.
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');

    const advertised = env.KAFKA_ADVERTISED_LISTENERS.split(',');
    expect(advertised).toContain('PLAINTEXT://kafka:29092');
    expect(advertised).toContain('PLAINTEXT_HOST://localhost:9092');
    expect(portsOf(kafka)).toContainEqual({ host: 9092, container: 9092 });
    expect(healthcheckText(kafka)).toContain('kafka-broker-api-versions.sh');
    expect((kafka.volumes ?? []).some((v) => typeof v === 'string' && v.startsWith('kafka-data:'))).toBe(
      true,
    );
  });

  it('points Kafka UI at the internal listener once the broker is healthy', () => {
    const ui = services['kafka-ui'];
    expect(envOf(ui).KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS).toBe('kafka:29092');
    expect(ui.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
  });

  it('mounts the init script that creates every database the services connect to', () => {
    const postgres = services.postgres;
    expect(healthcheckText(postgres)).toContain('pg_isready');
    expect(postgres.volumes).toContainEqual(
      expect.stringMatching(/^\.\/docker\/postgres\/init\.sql:\/docker-entrypoint-initdb\.d\//),
    );
    const initSql = read('docker/postgres/init.sql');
    for (const { name, service } of ourServices) {
      const database = databaseOf(envOf(service).DATABASE_URL);
      expect({
        name,
        created: new RegExp(`CREATE DATABASE\\s+"?${database}"?\\b`, 'i').test(initSql),
      }).toEqual({
        name,
        created: true,
      });
    }
  });

  it('publishes no host port twice', () => {
    const hostPorts = Object.values(services)
      .flatMap(portsOf)
      .map((p) => p.host)
      .filter((p) => !Number.isNaN(p));
    expect(hostPorts.length).toBeGreaterThan(0);
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('keeps Grafana off the monolith port and provisions it from docker/grafana', () => {
    const grafana = services.grafana;
    expect(portsOf(grafana)).toContainEqual({ host: 3030, container: 3000 });
    expect(envOf(grafana).GF_SECURITY_ADMIN_PASSWORD).toMatch(/^\$\{GRAFANA_ADMIN_PASSWORD:-.+\}$/);
    expect(grafana.volumes).toContainEqual(
      expect.stringMatching(/^\.\/docker\/grafana\/provisioning:\/etc\/grafana\/provisioning/),
    );
  });

  describe.each(ourServices)('$name', ({ name, service }) => {
    const env = envOf(service);

    it('is built from the shared Dockerfile with SERVICE set to its name', () => {
      expect(service.build).toMatchObject({ context: '.', dockerfile: 'Dockerfile' });
      expect(buildArgs(service).SERVICE).toBe(name);
      expect(service.image).toBe(`kafka-core/${name}:dev`);
    });

    it('runs as the unprivileged uid/gid 1001', () => {
      expect(service.user).toBe('1001:1001');
    });

    it('checks readiness on /health/ready at its own port', () => {
      const check = healthcheckText(service);
      expect(check).toContain('/health/ready');
      expect(check).toContain('process.env.PORT');
    });

    it('waits for a healthy broker and database', () => {
      expect(service.depends_on).toMatchObject({
        kafka: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
      });
    });

    it('listens on and publishes its default port', () => {
      const port = SERVICE_DEFAULT_PORTS[name];
      expect(env.PORT).toBe(String(port));
      expect(portsOf(service)).toContainEqual({ host: port, container: port });
      // The image bakes PORT in for EXPOSE and its HEALTHCHECK; it must agree with the runtime port.
      expect(buildArgs(service).PORT ?? String(port)).toBe(String(port));
    });

    it('sets only variables the services read, and reaches the broker and database inside the network', () => {
      const known: string[] = [...Object.values(SERVICE_ENV), ...Object.keys(SERVICE_SETTINGS_ENV[name])];
      for (const key of Object.keys(env)) {
        expect({ key, known: known.includes(key) }).toEqual({ key, known: true });
      }
      expect(env.HOST).toBe('0.0.0.0');
      expect(envOf(services.kafka).KAFKA_ADVERTISED_LISTENERS.split(',')).toContain(
        `PLAINTEXT://${env.KAFKA_BROKERS}`,
      );
      const url = new URL(env.DATABASE_URL);
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname).toBe('postgres');
      expect(databaseOf(env.DATABASE_URL)).not.toBe('');
    });
  });

  it('gives each service its own database', () => {
    const databases = ourServices.map(({ service }) => databaseOf(envOf(service).DATABASE_URL));
    expect(new Set(databases).size).toBe(SERVICE_NAMES.length);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
  const finalStage = instructions.slice(lastFrom + 1);

  it('is multi-stage on node 20 slim images', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args).toMatch(/^node:20-bookworm-slim\b/);
  });

  it('compiles with tsc in a build stage and ships only pruned production dependencies', () => {
    const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => r.includes('npm ci'))).toBe(true);
    expect(runs.some((r) => /tsc -p tsconfig\.build\.json/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('npm prune --omit=dev'))).toBe(true);
    const copiesFromBuild = finalStage.filter((i) => i.op === 'COPY' && i.args.includes('--from=build'));
    expect(copiesFromBuild.map((i) => i.args).join('\n')).toMatch(/node_modules[\s\S]*dist/);
  });

  it('does not run as root in the final stage', () => {
    const users = finalStage.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]);
    expect(users.length).toBeGreaterThan(0);
    const last = users[users.length - 1];
    expect(['root', '0']).not.toContain(last);
    const createsApp1001 = finalStage.some(
      (i) => i.op === 'RUN' && /useradd\b[^&]*--uid 1001\b/.test(i.args),
    );
    expect(last === '1001' || (last === 'app' && createsApp1001)).toBe(true);
    for (const copy of finalStage.filter((i) => i.op === 'COPY')) {
      expect(copy.args).toContain('--chown=1001:1001');
    }
  });

  it('selects the service by build arg and starts it through the launcher', () => {
    expect(finalStage).toContainEqual({ op: 'ARG', args: expect.stringMatching(/^SERVICE\b/) });
    const env = finalStage
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/NODE_ENV=production/);
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/SERVICE=\$\{?SERVICE\}?/);
    const cmd = finalStage.filter((i) => i.op === 'CMD').pop();
    expect(cmd?.args).toMatch(/node scripts\/run-service\.js .*\$\{?SERVICE\}?/);
    expect(finalStage.some((i) => i.op === 'EXPOSE')).toBe(true);
    expect(finalStage).toContainEqual({ op: 'STOPSIGNAL', args: 'SIGTERM' });
  });

  it('has a HEALTHCHECK on /health/ready that needs no curl or wget', () => {
    const healthcheck = finalStage.find((i) => i.op === 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/CMD node -e/);
    expect(healthcheck?.args).toContain('/health/ready');
    expect(healthcheck?.args).not.toMatch(/\b(curl|wget)\b/);
  });

  it('is paired with a .dockerignore that keeps local output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});

describe('docker/prometheus/prometheus.yml', () => {
  interface ScrapeConfig {
    job_name: string;
    metrics_path?: string;
    static_configs?: { targets: string[] }[];
  }
  const config = parse(read('docker/prometheus/prometheus.yml')) as { scrape_configs: ScrapeConfig[] };

  it.each(SERVICE_NAMES)('scrapes %s at its port on /metrics', (name) => {
    const target = `${name}:${SERVICE_DEFAULT_PORTS[name]}`;
    const jobs = config.scrape_configs.filter((job) =>
      (job.static_configs ?? []).some((sc) => sc.targets.includes(target)),
    );
    expect(jobs).toHaveLength(1);
    expect(jobs[0].metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('is the file mounted into the prometheus service', () => {
    expect(services.prometheus.volumes).toContainEqual(
      expect.stringMatching(/^\.\/docker\/prometheus\/prometheus\.yml:\/etc\/prometheus\/prometheus\.yml/),
    );
  });
});

describe('docker/prometheus/kafka-core-alerts.yml', () => {
  interface Rule {
    alert: string;
    expr: string;
    for?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  }
  const RULES_FILE = 'docker/prometheus/kafka-core-alerts.yml';
  const config = parse(read('docker/prometheus/prometheus.yml')) as { rule_files?: string[] };
  const rules = (parse(read(RULES_FILE)) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );

  /** Every series kafka-core exports, histograms under their three suffixes. */
  const exported = new Set(
    Object.values(KAFKA_METRICS).flatMap((m): string[] =>
      'buckets' in m ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
    ),
  );
  const FUNCTIONS = new Set(['sum', 'max', 'min', 'avg', 'count', 'increase', 'rate', 'time', 'absent']);
  const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

  /**
   * The series an expression reads: what is left once strings, label matchers, ranges, grouping
   * clauses, functions, keywords and numbers are taken out.
   */
  function seriesOf(expr: string): { series: string[]; functions: string[] } {
    const bare = expr
      .replace(/"[^"]*"|'[^']*'/g, ' ')
      .replace(/\{[^}]*\}/g, ' ')
      .replace(/\[[^\]]*\]/g, ' ')
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
    const tokens = [...bare.matchAll(/([A-Za-z_:][\w:]*)\s*(\()?/g)];
    return {
      functions: tokens.filter((t) => t[2]).map((t) => t[1]),
      series: tokens.filter((t) => !t[2] && !KEYWORDS.has(t[1])).map((t) => t[1]),
    };
  }
  const ruleReading = (series: string) => rules.filter((r) => seriesOf(r.expr).series.includes(series));
  const seconds = (ms: number) => ms / 1_000;
  const minutes = (ms: number) => `${ms / 60_000}m`;

  it('is loaded by prometheus.yml from where docker-compose.yml mounts it', () => {
    expect(config.rule_files).toEqual(['/etc/prometheus/kafka-core-alerts.yml']);
    expect(services.prometheus.volumes).toContainEqual(
      `./${RULES_FILE}:/etc/prometheus/kafka-core-alerts.yml:ro`,
    );
  });

  it('reads only series kafka-core exports, through known functions', () => {
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) {
      const { series, functions } = seriesOf(rule.expr);
      expect({ alert: rule.alert, reads: series.length > 0 }).toEqual({ alert: rule.alert, reads: true });
      for (const name of series)
        expect({ alert: rule.alert, name, exported: exported.has(name) }).toEqual({
          alert: rule.alert,
          name,
          exported: true,
        });
      for (const fn of functions)
        expect({ alert: rule.alert, fn, known: FUNCTIONS.has(fn) }).toMatchObject({ known: true });
    }
  });

  it('the series check catches a misspelt metric', () => {
    expect(
      seriesOf('sum by (job) (increase(kafka_core_listener_dead_letters_total{job="x"}[5m])) > 0'),
    ).toEqual({
      series: ['kafka_core_listener_dead_letters_total'],
      functions: ['sum', 'increase'],
    });
    expect(exported.has('kafka_core_listener_dead_letters_total')).toBe(false);
  });

  it('names each alert once, with a severity and a summary', () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
      expect(rule.annotations?.summary).toMatch(/\S/);
    }
  });

  it('alerts on critical lag at the lag health threshold', () => {
    expect(ruleReading(KAFKA_METRICS.consumerLag.name).map((r) => r.expr)).toEqual([
      `sum by (job, group, topic) (${KAFKA_METRICS.consumerLag.name}) > ${HEALTH_DEFAULTS.lag.critical}`,
    ]);
  });

  it('alerts on any dead letter within the health dead-letter window', () => {
    expect(ruleReading(KAFKA_METRICS.recordsDeadLettered.name).map((r) => r.expr)).toEqual([
      `sum by (job, group, listener, topic) (increase(${KAFKA_METRICS.recordsDeadLettered.name}[${minutes(HEALTH_DEFAULTS.deadLetterWindowMs)}])) > 0`,
    ]);
  });

  it('alerts on a stuck listener at the stuck health threshold', () => {
    expect(ruleReading(KAFKA_METRICS.oldestInFlightAge.name).map((r) => r.expr)).toEqual([
      `${KAFKA_METRICS.oldestInFlightAge.name} > ${seconds(HEALTH_DEFAULTS.stuckAfterMs)}`,
    ]);
  });

  it('alerts on an open breaker (state 2)', () => {
    expect(ruleReading(KAFKA_METRICS.breakerState.name).map((r) => r.expr)).toEqual([
      `${KAFKA_METRICS.breakerState.name} == 2`,
    ]);
  });

  it('alerts on outbox age at the outbox health threshold', () => {
    expect(ruleReading(KAFKA_METRICS.outboxOldestAge.name).map((r) => r.expr)).toEqual([
      `${KAFKA_METRICS.outboxOldestAge.name} > ${seconds(HEALTH_DEFAULTS.outbox.maxOldestAgeMs)}`,
    ]);
  });

  it('alerts when no instance of a service leads its outbox relay', () => {
    expect(ruleReading(KAFKA_METRICS.outboxLeader.name).map((r) => r.expr)).toEqual([
      `max by (job) (${KAFKA_METRICS.outboxLeader.name}) < 1`,
    ]);
  });

  it('alerts on a pause held longer than the paused health threshold, and on a long transient retry', () => {
    expect(ruleReading(KAFKA_METRICS.listenerPaused.name).map((r) => [r.expr, r.for])).toEqual([
      [`${KAFKA_METRICS.listenerPaused.name} == 1`, minutes(HEALTH_DEFAULTS.pausedDegradedAfterMs)],
    ]);
    expect(ruleReading(KAFKA_METRICS.retrying.name).map((r) => [r.expr, r.for])).toEqual([
      [`${KAFKA_METRICS.retrying.name} == 1`, minutes(HEALTH_DEFAULTS.retryingDegradedAfterMs)],
    ]);
  });
});

describe('Grafana provisioning', () => {
  interface Target {
    expr?: string;
    datasource?: { uid?: string };
  }
  interface Panel {
    id: number;
    type: string;
    title?: string;
    datasource?: { uid?: string };
    gridPos: { x: number; y: number; w: number; h: number };
    fieldConfig?: {
      defaults?: { unit?: string; thresholds?: { steps: { value: number | null }[] } };
    };
    targets?: Target[];
    panels?: Panel[];
  }
  interface Dashboard {
    schemaVersion: number;
    templating: { list: { name: string; query?: unknown; datasource?: { uid?: string } }[] };
    panels: Panel[];
  }
  const dashboard = JSON.parse(read('docker/grafana/dashboards/kafka-core.json')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const queryPanels = panels.filter((p) => p.targets?.length);
  const expressions = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
  const datasources = parse(read('docker/grafana/provisioning/datasources/prometheus.yml')) as {
    datasources: { uid: string; type: string; url: string }[];
  };
  const providers = parse(read('docker/grafana/provisioning/dashboards/dashboards.yml')) as {
    providers: { options: { path: string } }[];
  };
  const prometheus = datasources.datasources.find((d) => d.type === 'prometheus');

  /** Every kafka_core_* series a query reads, as written (histograms with their _bucket suffix). */
  const seriesIn = (expr: string): string[] => expr.match(/\bkafka_core_\w+/g) ?? [];
  const exported = new Set(
    Object.values(KAFKA_METRICS).flatMap((m): string[] =>
      'buckets' in m ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
    ),
  );
  const panelReading = (series: string): Panel | undefined =>
    queryPanels.find((p) => p.targets?.some((t) => seriesIn(t.expr ?? '').includes(series)));

  it.each([
    ['consumer lag', KAFKA_METRICS.consumerLag.name],
    ['throughput', KAFKA_METRICS.recordsProcessed.name],
    ['processing rate', KAFKA_METRICS.processingRate.name],
    ['errors', KAFKA_METRICS.recordsFailed.name],
    ['retries', KAFKA_METRICS.recordsRetried.name],
    ['dead letters', KAFKA_METRICS.recordsDeadLettered.name],
    ['processing latency', `${KAFKA_METRICS.processingDuration.name}_bucket`],
    ['producer latency', `${KAFKA_METRICS.producerLatency.name}_bucket`],
    ['records sent', KAFKA_METRICS.producerRecordsSent.name],
    ['records failed to send', KAFKA_METRICS.producerErrors.name],
    ['outbox backlog', KAFKA_METRICS.outboxBacklog.name],
    ['outbox oldest age', KAFKA_METRICS.outboxOldestAge.name],
    ['parked outbox rows', KAFKA_METRICS.outboxParkedRows.name],
    ['outbox relay leader', KAFKA_METRICS.outboxLeader.name],
    ['in-flight records', KAFKA_METRICS.inFlight.name],
    ['backpressure', KAFKA_METRICS.backpressureActive.name],
    ['broker connectivity', KAFKA_METRICS.connectivity.name],
    ['running listeners', KAFKA_METRICS.listenerUp.name],
  ])('the dashboard has a panel for %s (%s)', (_, series) => {
    expect(panelReading(series)).toBeDefined();
  });

  it('queries only series kafka-core exports (KAFKA_METRICS), each filtered on the service variable', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toContain('service');
    const referenced = expressions.flatMap(seriesIn);
    expect(referenced.length).toBeGreaterThan(0);
    for (const series of referenced)
      expect({ series, exported: exported.has(series) }).toEqual({ series, exported: true });
    for (const expr of expressions) {
      const selectors = expr.match(/\bkafka_core_\w+(\{[^}]*\})?/g) ?? [];
      for (const selector of selectors) expect(selector).toMatch(/\{[^}]*job=~"\$service"[^}]*\}$/);
    }
  });

  it('takes latency quantiles from histogram buckets, keeping the le label', () => {
    const quantiles = expressions.filter((e) => e.includes('histogram_quantile'));
    expect(quantiles.length).toBeGreaterThan(0);
    for (const expr of quantiles) {
      expect(expr).toMatch(/histogram_quantile\(0?\.\d+, sum by \([^)]*\ble\b[^)]*\) \(rate\(\w+_bucket\{/);
    }
  });

  it('draws the lag health indicator thresholds on the consumer lag panels', () => {
    const lagPanels = queryPanels.filter((p) =>
      p.targets?.some((t) => seriesIn(t.expr ?? '').includes(KAFKA_METRICS.consumerLag.name)),
    );
    expect(lagPanels.length).toBeGreaterThan(0);
    for (const panel of lagPanels) {
      const steps = (panel.fieldConfig?.defaults?.thresholds?.steps ?? []).map((s) => s.value);
      expect(steps).toEqual([null, HEALTH_DEFAULTS.lag.warning, HEALTH_DEFAULTS.lag.critical]);
    }
  });

  it('gives every panel a unique id and a title, every query panel a unit, and fits the 24-column grid', () => {
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel.title).toBeTruthy();
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
    for (const panel of queryPanels) {
      expect({ title: panel.title, unit: panel.fieldConfig?.defaults?.unit }).toEqual({
        title: panel.title,
        unit: expect.any(String),
      });
    }
  });

  it('queries the provisioned Prometheus datasource, which points at the prometheus service', () => {
    expect(prometheus?.url).toBe('http://prometheus:9090');
    expect(queryPanels.length).toBeGreaterThan(0);
    for (const panel of queryPanels) {
      expect(panel.datasource?.uid).toBe(prometheus?.uid);
      for (const target of panel.targets ?? [])
        expect(target.datasource?.uid ?? prometheus?.uid).toBe(prometheus?.uid);
    }
    for (const variable of dashboard.templating.list.filter((v) => v.query !== undefined)) {
      expect(variable.datasource?.uid).toBe(prometheus?.uid);
    }
  });

  it('loads dashboards from the directory the compose file mounts them into', () => {
    const mount = (services.grafana.volumes ?? [])
      .filter((v): v is string => typeof v === 'string')
      .find((v) => v.startsWith('./docker/grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(providers.providers[0].options.path);
  });
});

/*
 * docker-compose.secure.yml is only ever used over docker-compose.yml, so it is checked merged the way
 * Compose merges an override file: mappings key by key, environment and depends_on by name, volumes by
 * their target in the container, secrets by source; anything else replaced. `${VAR:-default}` is read as
 * its default.
 */
describe('docker-compose.secure.yml (over docker-compose.yml)', () => {
  type Binding = AclBinding;
  interface TopicSpec {
    name: string;
    partitions: number;
    configs: Record<string, string>;
  }
  /* eslint-disable @typescript-eslint/no-require-imports */
  const acls = require('../../scripts/kafka/acls') as {
    topicSpecs(table: unknown, replicationFactor: number): TopicSpec[];
    deriveAcls(table: unknown): Binding[];
    serviceNames(table: unknown): string[];
    bindingKey(binding: Binding): string;
  };
  const { prepareSecurity } = require('../../scripts/kafka/secure') as {
    prepareSecurity(opts: { securityDir: string; log?: () => void }): unknown;
  };
  const provision = require('../../docker/kafka-secure/generate-provision') as {
    render(table: unknown): string;
    REPLICATION_FACTOR: number;
  };
  /* eslint-enable @typescript-eslint/no-require-imports */

  const SECURE_FILE = 'docker-compose.secure.yml';
  const PROVISION_FILE = 'docker/kafka-secure/provision.txt';
  const override = parse(read(SECURE_FILE), { merge: true }) as ComposeFile;
  const table = JSON.parse(read('libs/contracts/src/topic-table.json')) as unknown;

  type Volume = NonNullable<ComposeService['volumes']>[number];
  const interpolate = (text: string): string =>
    text.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name: string, fallback?: string) => fallback ?? '');
  const volumeOf = (v: Volume): { source: string; target: string; readOnly: boolean } => {
    if (typeof v !== 'string') {
      return { source: interpolate(v.source ?? ''), target: v.target, readOnly: v.read_only === true };
    }
    const [source, target, mode = ''] = v.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  };
  const dependsOf = (service: ComposeService): Record<string, { condition?: string }> =>
    Array.isArray(service.depends_on)
      ? Object.fromEntries(service.depends_on.map((name) => [name, { condition: 'service_started' }]))
      : { ...(service.depends_on ?? {}) };
  /** Secrets of a service as path in the container -> top-level secret name. */
  const secretsOf = (service: ComposeService): Record<string, string> =>
    Object.fromEntries(
      (service.secrets ?? []).map((s) =>
        typeof s === 'string' ? [`/run/secrets/${s}`, s] : [`/run/secrets/${s.target ?? s.source}`, s.source],
      ),
    );

  function mergeService(base: ComposeService | undefined, over: ComposeService): ComposeService {
    if (!base) return over;
    const merged: ComposeService = { ...base, ...over };
    merged.environment = { ...envOf(base), ...envOf(over) };
    merged.depends_on = { ...dependsOf(base), ...dependsOf(over) };
    if (base.healthcheck && over.healthcheck)
      merged.healthcheck = { ...base.healthcheck, ...over.healthcheck };
    const byTarget = new Map<string, Volume>();
    for (const v of [...(base.volumes ?? []), ...(over.volumes ?? [])]) byTarget.set(volumeOf(v).target, v);
    merged.volumes = [...byTarget.values()];
    merged.ports = [...new Set([...(base.ports ?? []), ...(over.ports ?? [])])];
    const bySource = new Map<string, string | { source: string; target?: string }>();
    for (const s of [...(base.secrets ?? []), ...(over.secrets ?? [])])
      bySource.set(typeof s === 'string' ? s : s.source, s);
    merged.secrets = [...bySource.values()];
    return merged;
  }

  const merged: Record<string, ComposeService> = { ...services };
  for (const [name, service] of Object.entries(override.services)) {
    merged[name] = mergeService(services[name], service);
  }
  const secretFiles = Object.fromEntries(
    Object.entries(override.secrets ?? {}).map(([name, secret]) => [name, interpolate(secret.file ?? '')]),
  );
  const kafka = merged.kafka;
  const kafkaEnv = envOf(kafka);
  const setup = merged['kafka-setup'];
  const setupEnv = envOf(setup);
  const listOf = (value: string | undefined, separator = ','): string[] =>
    (value ?? '').split(separator).filter(Boolean);
  const protocolOf = Object.fromEntries(
    listOf(kafkaEnv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).map((pair) => pair.split(':')),
  );
  const listenerName = (listener: string) => listener.split('://')[0];
  const scramUsers = listOf(kafkaEnv.SCRAM_USERS);
  const superUsers = listOf(kafkaEnv.KAFKA_SUPER_USERS, ';');
  const internalAddress = listOf(kafkaEnv.KAFKA_ADVERTISED_LISTENERS)
    .find((l) => l.startsWith('SASL_SSL://'))
    ?.slice('SASL_SSL://'.length);
  /** The secret holding a SCRAM user's password, as broker.sh reads it. */
  const passwordSecret = (user: string) => `kafka-password-${user}`;
  const mountAt = (service: ComposeService, target: string) =>
    (service.volumes ?? []).map(volumeOf).find((v) => v.target === target);
  const SECURITY_DIR = './.data/kafka/security';

  it('adds only the setup job, and keeps Kafka UI (which would need a password in its environment) off', () => {
    expect(override.version).toBeUndefined();
    expect(Object.keys(override.services).filter((name) => !services[name])).toEqual(['kafka-setup']);
    expect(merged['kafka-ui'].profiles?.length).toBeGreaterThan(0);
  });

  it('runs the broker from broker.sh, mounted from docker/kafka-secure, on storage of its own', () => {
    expect(kafka.image).toBe(services.kafka.image);
    expect(kafka.entrypoint).toEqual(['/bin/bash', '/opt/kafka-secure/broker.sh']);
    expect(existsSync(join(ROOT, 'docker/kafka-secure/broker.sh'))).toBe(true);
    expect(mountAt(kafka, '/opt/kafka-secure')).toEqual({
      source: './docker/kafka-secure',
      target: '/opt/kafka-secure',
      readOnly: true,
    });
    // SCRAM users only go in at format time: the plaintext volume must not be picked up.
    expect(mountAt(kafka, envOf(kafka).KAFKA_LOG_DIRS)?.source).toBe('kafka-secure-data');
    expect(override.volumes).toHaveProperty('kafka-secure-data');
  });

  it('listens for clients with SASL_SSL only, SCRAM-SHA-512, and keeps the controller to mutual TLS', () => {
    const listeners = listOf(kafkaEnv.KAFKA_LISTENERS);
    const controller = listOf(kafkaEnv.KAFKA_CONTROLLER_LISTENER_NAMES);
    expect(controller).toEqual(['CONTROLLER']);
    for (const listener of listeners) {
      const name = listenerName(listener);
      expect({ name, protocol: protocolOf[name] }).toEqual({
        name,
        protocol: controller.includes(name) ? 'SSL' : 'SASL_SSL',
      });
    }
    expect(Object.values(protocolOf)).not.toContain('PLAINTEXT');
    expect(Object.values(protocolOf)).not.toContain('SASL_PLAINTEXT');
    expect(kafkaEnv.KAFKA_LISTENER_NAME_CONTROLLER_SSL_CLIENT_AUTH).toBe('required');
    const advertised = listOf(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
    expect(advertised.map(listenerName).every((name) => protocolOf[name] === 'SASL_SSL')).toBe(true);
    expect(advertised).toContain('SASL_SSL://kafka:29093');
    expect(advertised).toContainEqual(expect.stringMatching(/:\/\/localhost:9092$/));
    expect(portsOf(kafka)).toContainEqual({ host: 9092, container: 9092 });
    expect(protocolOf[kafkaEnv.KAFKA_INTER_BROKER_LISTENER_NAME]).toBe('SASL_SSL');
    expect(kafkaEnv.KAFKA_SASL_ENABLED_MECHANISMS).toBe('SCRAM-SHA-512');
    expect(kafkaEnv.KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL).toBe('SCRAM-SHA-512');
  });

  it('authorizes every request: standard authorizer, nothing allowed without an ACL, admin and the broker as super users', () => {
    expect(kafkaEnv.KAFKA_AUTHORIZER_CLASS_NAME).toBe(
      'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    );
    expect(kafkaEnv.KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND).toBe('false');
    expect(superUsers.sort()).toEqual(['User:CN=kafka-broker', 'User:admin']);
    expect(kafkaEnv.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
  });

  it('creates a SCRAM user for admin and each service, each with its password from a secret file', () => {
    expect(scramUsers.sort()).toEqual(['admin', ...SERVICE_NAMES].sort());
    expect(kafkaEnv.ADMIN_USER).toBe('admin');
    const mounted = Object.values(secretsOf(kafka));
    for (const user of scramUsers) {
      expect(mounted).toContain(passwordSecret(user));
      expect(secretFiles[passwordSecret(user)]).toBe(`${SECURITY_DIR}/${user}.password`);
    }
  });

  it('mounts the CA and the broker keystore read-only from the generated directory, its password as a secret', () => {
    expect(mountAt(kafka, kafkaEnv.KAFKA_SSL_TRUSTSTORE_LOCATION)).toMatchObject({
      source: `${SECURITY_DIR}/ca.pem`,
      readOnly: true,
    });
    expect(kafkaEnv.KAFKA_SSL_TRUSTSTORE_TYPE).toBe('PEM');
    expect(mountAt(kafka, kafkaEnv.KAFKA_SSL_KEYSTORE_LOCATION)).toMatchObject({
      source: `${SECURITY_DIR}/broker.p12`,
      readOnly: true,
    });
    expect(Object.values(secretsOf(kafka))).toContain('kafka-broker-keystore-password');
    expect(secretFiles['kafka-broker-keystore-password']).toBe(`${SECURITY_DIR}/broker.keystore.password`);
  });

  it('uses files the security command makes, in the directory prepare.sh makes them in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'compose-security-'));
    try {
      prepareSecurity({ securityDir: dir, log: () => {} });
      const fromDir = [
        ...Object.values(secretFiles),
        ...Object.values(merged)
          .flatMap((s) => (s.volumes ?? []).map(volumeOf))
          .map((v) => v.source)
          .filter((source) => source.startsWith(`${SECURITY_DIR}/`)),
      ];
      expect(fromDir.length).toBeGreaterThan(0);
      for (const file of fromDir) {
        expect({ file, made: existsSync(join(dir, basename(file))) }).toEqual({ file, made: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const prepare = read('docker/kafka-secure/prepare.sh');
    expect(prepare).toContain(`dir="\${KAFKA_SECURITY_DIR:-${SECURITY_DIR.slice(2)}}"`);
    expect(prepare).toContain('node scripts/kafka/kafka.js security --dir "$dir"');
  });

  it('keeps secrets out of the compose files: file secrets only, no password or JAAS value in any environment', () => {
    for (const [name, secret] of Object.entries(override.secrets ?? {})) {
      expect({ name, keys: Object.keys(secret) }).toEqual({ name, keys: ['file'] });
    }
    for (const [name, service] of Object.entries(override.services)) {
      for (const [key, value] of Object.entries(envOf(service))) {
        expect({ name, key, inline: /PASSWORD|SECRET/.test(key) && !key.endsWith('_FILE') }).toEqual({
          name,
          key,
          inline: false,
        });
        expect({ name, key, value }).not.toEqual({ name, key, value: expect.stringMatching(/password=/i) });
      }
    }
  });

  it('checks health as admin over TLS with the client configuration broker.sh writes', () => {
    const check = healthcheckText(kafka);
    expect(check).toContain('kafka-broker-api-versions.sh');
    expect(check).toContain(`--bootstrap-server ${internalAddress}`);
    expect(check).toContain('--command-config /tmp/kafka-secure/admin-client.properties');
    const script = read('docker/kafka-secure/broker.sh');
    expect(script).toContain('RUNTIME_DIR="${RUNTIME_DIR:-/tmp/kafka-secure}"');
    expect(script).toContain('client="$RUNTIME_DIR/admin-client.properties"');
  });

  it('provisions topics and ACLs once the broker is healthy, as admin, with the admin password file', () => {
    expect(setup.image).toBe(kafka.image);
    expect(setup.entrypoint).toEqual(['/bin/bash', '/opt/kafka-secure/setup.sh']);
    expect(setup.restart).toBe('no');
    expect(setup.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' } });
    expect(setupEnv.SETUP_USER).toBe('admin');
    expect(superUsers).toContain(`User:${setupEnv.SETUP_USER}`);
    expect(secretsOf(setup)[setupEnv.SETUP_PASSWORD_FILE]).toBe(passwordSecret('admin'));
    expect(Object.values(secretsOf(setup))).toEqual([passwordSecret('admin')]);
    expect(setupEnv.SETUP_BOOTSTRAP_SERVER).toBe(internalAddress);
    expect(mountAt(setup, setupEnv.SETUP_CA_FILE)).toMatchObject({
      source: `${SECURITY_DIR}/ca.pem`,
      readOnly: true,
    });
    expect(mountAt(setup, '/opt/kafka-secure')).toMatchObject({
      source: './docker/kafka-secure',
      readOnly: true,
    });
    expect(Number(setupEnv.SETUP_REPLICATION_FACTOR)).toBe(provision.REPLICATION_FACTOR);
  });

  describe('docker/kafka-secure/provision.txt', () => {
    const lines = read(PROVISION_FILE)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(/\s+/));
    const topics: TopicSpec[] = lines
      .filter(([kind]) => kind === 'topic')
      .map(([, name, partitions, ...configs]) => ({
        name,
        partitions: Number(partitions),
        configs: Object.fromEntries(
          configs.map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]),
        ),
      }));
    const bindings: Binding[] = lines
      .filter(([kind]) => kind === 'acl')
      .flatMap(([, principal, resourceType, patternType, operations, ...names]) =>
        operations.split(',').flatMap((operation) =>
          names.map((name) => ({
            principal,
            host: '*',
            resourceType,
            patternType,
            name,
            operation,
            permission: 'ALLOW',
          })),
        ),
      );
    const byKey = (a: Binding, b: Binding) => acls.bindingKey(a).localeCompare(acls.bindingKey(b));

    it('holds only topic and acl lines', () => {
      expect(lines.filter(([kind]) => kind !== 'topic' && kind !== 'acl')).toEqual([]);
    });

    it('creates the topics of the topic table, with their retry and dead-letter topics, partitions and retention', () => {
      const wanted = acls
        .topicSpecs(table, provision.REPLICATION_FACTOR)
        .map(({ name, partitions, configs }) => ({ name, partitions, configs }));
      expect(topics).toEqual(wanted);
    });

    it('grants exactly the ACLs derived from the topic table, each once', () => {
      expect(new Set(bindings.map(acls.bindingKey)).size).toBe(bindings.length);
      expect([...bindings].sort(byKey)).toEqual(acls.deriveAcls(table));
      expect([...new Set(bindings.map((b) => b.principal))].sort()).toEqual(
        SERVICE_NAMES.map((name) => `User:${name}`).sort(),
      );
    });

    it('is what generate-provision.js writes from the table (run it after changing the table)', () => {
      expect(read(PROVISION_FILE)).toBe(provision.render(table));
    });
  });

  describe.each(SERVICE_NAMES.map((name) => ({ name, service: merged[name] })))(
    '$name',
    ({ name, service }) => {
      const env = envOf(service);

      it('sets only variables the services read', () => {
        const known: string[] = [...Object.values(SERVICE_ENV), ...Object.keys(SERVICE_SETTINGS_ENV[name])];
        for (const key of Object.keys(env)) {
          expect({ key, known: known.includes(key) }).toEqual({ key, known: true });
        }
      });

      it('logs in as itself with SCRAM-SHA-512 over TLS, on the internal SASL_SSL listener', () => {
        expect(env.KAFKA_SECURITY_PROTOCOL).toBe('SASL_SSL');
        expect(env.KAFKA_SASL_MECHANISM).toBe('SCRAM-SHA-512');
        expect(env.KAFKA_SASL_USERNAME).toBe(name);
        expect(scramUsers).toContain(name);
        expect(env.KAFKA_BROKERS).toBe(internalAddress);
      });

      it('reads its password from the secret file the broker created its user with, and no other', () => {
        expect(env.KAFKA_SASL_PASSWORD).toBeUndefined();
        const secrets = secretsOf(service);
        expect(secrets[env.KAFKA_SASL_PASSWORD_FILE]).toBe(passwordSecret(name));
        expect(Object.values(secrets)).toEqual([passwordSecret(name)]);
        expect(secretFiles[passwordSecret(name)]).toBe(`${SECURITY_DIR}/${name}.password`);
      });

      it('verifies the broker with the CA mounted read-only', () => {
        expect(mountAt(service, env.KAFKA_SSL_CA_FILE)).toMatchObject({
          source: `${SECURITY_DIR}/ca.pem`,
          readOnly: true,
        });
      });

      it('starts only after kafka-setup has provisioned its topics and ACLs', () => {
        expect(service.depends_on).toMatchObject({
          'kafka-setup': { condition: 'service_completed_successfully' },
          kafka: { condition: 'service_healthy' },
          postgres: { condition: 'service_healthy' },
        });
      });
    },
  );
});
