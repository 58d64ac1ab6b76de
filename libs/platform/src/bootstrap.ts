import { DynamicModule, INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadServiceConfig, ServiceConfig } from './config/service-config';
import { ServiceName } from './config/service-env';
import { strictValidationPipe } from './http/validation.pipe';

/** What an app exports: its root module built for a configuration. */
export interface ServiceModuleFactory {
  register(config: ServiceConfig): DynamicModule;
}

/** Applies what every service needs on top of its module; shared by `main.ts` and the tests. */
export function configureApp(app: INestApplication): INestApplication {
  app.useGlobalPipes(strictValidationPipe());
  app.enableShutdownHooks();
  return app;
}

/** The six-line `main.ts` of every service; expected failures print a sentence, not a stack. */
export async function runService(service: ServiceName, root: ServiceModuleFactory): Promise<void> {
  const logger = new Logger(service);
  try {
    const config = loadServiceConfig(service);
    // abortOnError off: startup failures reach the catch below and print as one sentence.
    const app = configureApp(
      await NestFactory.create(root.register(config), { logger: config.logLevels, abortOnError: false }),
    );
    await app.listen(config.port, config.host);
    const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    logger.log(`${service} listening on http://${shownHost}:${config.port}`);
  } catch (error) {
    const err = error as Error;
    const code = (err as NodeJS.ErrnoException).code;
    const expected =
      err instanceof ConfigError ||
      err.name === 'BrokerUnavailableError' ||
      err.name === 'KafkaAuthenticationError' ||
      err.name === 'KafkaAuthorizationError' ||
      code === 'EADDRINUSE' ||
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND';
    logger.error(expected ? `Cannot start: ${err.message}` : err.stack);
    process.exit(1);
  }
}
