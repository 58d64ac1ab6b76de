import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleLogger, DynamicModule, INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureApp, loadServiceConfig, ServiceConfig, ServiceName } from '@app/platform';

export interface RunningService {
  app: INestApplication;
  url: string;
  config: ServiceConfig;
  close(): Promise<void>;
}

/**
 * Boots a service's real root module in-process against the real broker and database, on a free
 * port, configured the way `main.ts` configures it. `showLogs`: log at the configured levels (the
 * testing module's own logger drops everything below error).
 */
export async function startService(
  service: ServiceName,
  root: { register(config: ServiceConfig): DynamicModule },
  env: NodeJS.ProcessEnv,
  { showLogs = false }: { showLogs?: boolean } = {},
): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadServiceConfig(service, { LOG_LEVEL: 'warn', ...env }),
    host: '127.0.0.1',
  };
  const release = await lockService(service, config.kafkaBrokers.join(','));
  try {
    const testing = Test.createTestingModule({ imports: [root.register(config)] });
    if (showLogs) testing.setLogger(new ConsoleLogger({ logLevels: config.logLevels }));
    const moduleRef = await testing.compile();
    const app = configureApp(moduleRef.createNestApplication({ logger: config.logLevels }));
    await app.listen(0, '127.0.0.1');
    const url = await app.getUrl();
    const close = async () => {
      try {
        await app.close();
      } finally {
        release();
      }
    };
    return { app, url: url.replace('[::1]', '127.0.0.1'), config, close };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Keeps `service` from running in any other suite against these brokers until the returned release
 * is called: for a suite that needs a topic to itself, e.g. no monolith publishing operation logs
 * while it counts them. Suites take services in one order (logging-service, analytics-service,
 * notification-service, monolith), so two suites never wait on each other.
 */
export function reserveService(service: ServiceName, brokers: string[]): Promise<() => void> {
  return lockService(service, brokers.join(','));
}

/**
 * A service's listeners have fixed group ids, so two suites running the same service against the
 * same broker at once (jest runs two files in parallel) would split its partitions between them. A
 * lock directory per service and broker makes them take turns; a lock whose owner died is taken over.
 */
async function lockService(service: string, brokers: string, timeoutMs = 180_000): Promise<() => void> {
  const dir = join(tmpdir(), `kafka-core-e2e-${service}-${brokers.replace(/[^0-9a-z]+/gi, '_')}.lock`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      // Being written right now; look again shortly.
    }
    if (Number.isInteger(owner) && owner !== process.pid && !alive(owner)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${service} is still in use by another suite (${dir})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `probe` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(
    `Condition not met within ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}
