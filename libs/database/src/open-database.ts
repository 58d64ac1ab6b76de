import { PgDatabase } from './adapters/pg.database';
import { PgliteDatabase } from './adapters/pglite.database';
import { Database, DatabaseOptions } from './database.port';

/** Opens the server database when a URL is given, the embedded one otherwise. */
export function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    return PgDatabase.connect(options.url, options.schema, options.poolSize);
  }
  return PgliteDatabase.open(options.dataDir, options.schema);
}
