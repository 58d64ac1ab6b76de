export * from './database.port';
export { openDatabase } from './open-database';
export { PgDatabase, PgExecutor } from './adapters/pg.database';
export { PgliteDatabase, PgliteExecutor } from './adapters/pglite.database';
export { migrate, SqlMigration } from './migrations/migrator';
export { DatabaseModule, DATABASE, InjectDatabase } from './database.module';
