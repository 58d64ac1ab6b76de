import { DynamicModule, INestApplication } from '@nestjs/common';
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
 * port, configured the way `main.ts` configures it.
 */
export async function startService(
  service: ServiceName,
  root: { register(config: ServiceConfig): DynamicModule },
  env: NodeJS.ProcessEnv,
): Promise<RunningService> {
  const config: ServiceConfig = {
    ...loadServiceConfig(service, { LOG_LEVEL: 'warn', ...env }),
    host: '127.0.0.1',
  };
  const moduleRef = await Test.createTestingModule({ imports: [root.register(config)] }).compile();
  const app = configureApp(moduleRef.createNestApplication({ logger: config.logLevels }));
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return { app, url: url.replace('[::1]', '127.0.0.1'), config, close: () => app.close() };
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
