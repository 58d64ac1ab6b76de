/**
 * The one small port the library and the apps talk to. Everything above it is the same SQL whether
 * the rows live in a PostgreSQL server (`pg`) or in the embedded PGlite default.
 */
export interface QueryResult<T> {
  rows: T[];
  /** Rows returned or affected by the statement. */
  rowCount: number;
}

/** A connection or transaction that runs one parameterised statement at a time. */
export interface SqlExecutor {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<T>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database extends SqlExecutor {
  readonly kind: DatabaseKind;
  /** The schema this service owns; unqualified table names resolve to it. */
  readonly schema: string;
  /** Runs `work` in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on one dedicated connection for as long as it takes, for session state such as an
   * advisory lock. The embedded database has a single connection, so there it is that connection.
   */
  session<T>(work: (connection: SqlExecutor) => Promise<T>): Promise<T>;
  /** LISTEN on a channel; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… URL; when absent the embedded database is used. */
  url?: string;
  /** Data directory of the embedded database; in memory when absent. */
  dataDir?: string;
  /** Schema the service owns; created on connect. */
  schema: string;
  /** Pool size for the `pg` adapter. */
  poolSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Schema names are interpolated into SQL, so only plain lower-case identifiers are accepted. */
export function assertIdentifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(`Invalid ${what} "${name}": use lower-case letters, digits and underscores`);
  }
  return name;
}
