import { Pool, PoolClient } from 'pg';

/**
 * A pool client checked out for longer than one statement (a transaction, a session, a LISTEN).
 * pg-pool removes its own 'error' listener on checkout, and a client whose server ends the connection
 * (restart, failover, `pg_terminate_backend`) emits 'error': unhandled, that ends the process. So a
 * held client always has a listener, and one that broke is released with its error, which makes the
 * pool destroy it instead of handing a dead connection to the next caller.
 */
export class HeldClient {
  private failure?: Error;
  private released = false;
  private readonly onError = (error: Error) => {
    this.failure ??= error;
    this.onBroken?.(error);
  };

  private constructor(
    readonly client: PoolClient,
    private readonly onBroken?: (error: Error) => void,
  ) {
    client.on('error', this.onError);
  }

  /** Checks a client out; `onBroken` hears the first error of its connection while it is held. */
  static async checkout(pool: Pool, onBroken?: (error: Error) => void): Promise<HeldClient> {
    return new HeldClient(await pool.connect(), onBroken);
  }

  /** The connection's error, once it broke. */
  get broken(): Error | undefined {
    return this.failure;
  }

  /** Marks the connection unusable (say, a ROLLBACK failed), so it is destroyed on release. */
  markBroken(error: Error): void {
    this.failure ??= error;
  }

  /**
   * Returns the client to the pool, or destroys it when it broke or `destroy` is asked (a connection
   * that may still hold session state). A destroyed client keeps the listener: its socket may still
   * report an error while it closes. A pooled one gets the pool's idle listener back instead.
   */
  release(destroy = false): void {
    if (this.released) return;
    this.released = true;
    const destroyed = this.failure !== undefined || destroy;
    this.client.release(this.failure ?? destroy);
    if (!destroyed) this.client.off('error', this.onError);
  }
}
