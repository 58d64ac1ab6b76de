import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import {
  ConfigurableModuleClass,
  DatabaseModuleOptions,
  MODULE_OPTIONS_TOKEN,
} from './database.module-definition';
import { Database } from './database.port';
import { migrate } from './migrations/migrator';
import { openDatabase } from './open-database';

export const DATABASE = Symbol('DATABASE');
export const InjectDatabase = (): ParameterDecorator => Inject(DATABASE);

@Global()
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: async (options: DatabaseModuleOptions): Promise<Database> => {
        const db = await openDatabase(options);
        try {
          await migrate(db, options.migrations ?? []);
        } catch (error) {
          await db.close().catch(() => undefined);
          throw error;
        }
        return db;
      },
    },
  ],
  exports: [DATABASE],
})
export class DatabaseModule extends ConfigurableModuleClass implements OnApplicationShutdown {
  constructor(@Inject(DATABASE) private readonly db: Database) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
