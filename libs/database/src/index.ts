export * from './database.port';
export { openDatabase } from './open-database';
export { PgDatabase } from './adapters/pg.database';
export { PgliteDatabase } from './adapters/pglite.database';
export { migrate, SqlMigration } from './migrations/migrator';
export { DatabaseModule, DATABASE, InjectDatabase } from './database.module';
