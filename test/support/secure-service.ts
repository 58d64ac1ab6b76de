import { ConsoleLogger, DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureApp, loadServiceConfig, ServiceConfig, ServiceName } from '@app/platform';
import { RunningService } from './service-app';

/**
 * Boots a service's real root module in-process like `startService`, but logging at its configured
 * levels: the testing module's own logger drops everything below error, which would hide from a
 * suite what the service logs while it connects.
 */
export async function startLoggingService(
  service: ServiceName,
  root: { register(config: ServiceConfig): DynamicModule },
  env: NodeJS.ProcessEnv,
): Promise<RunningService> {
  const config: ServiceConfig = { ...loadServiceConfig(service, env), host: '127.0.0.1' };
  const moduleRef = await Test.createTestingModule({ imports: [root.register(config)] })
    .setLogger(new ConsoleLogger({ logLevels: config.logLevels }))
    .compile();
  const app = configureApp(moduleRef.createNestApplication({ logger: config.logLevels }));
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, config, close: () => app.close() };
}
