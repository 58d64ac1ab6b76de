import { ConfigurableModuleBuilder } from '@nestjs/common';
import { DatabaseOptions } from './database.port';
import { SqlMigration } from './migrations/migrator';

export interface DatabaseModuleOptions extends DatabaseOptions {
  /** Applied in order at startup, before the module is ready. */
  migrations?: readonly SqlMigration[];
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<DatabaseModuleOptions>().setClassMethodName('forRoot').build();
