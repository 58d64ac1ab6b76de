import { AsyncLocalStorage } from 'node:async_hooks';
import { ConsumedRecord } from '../client/kafka-client.port';
import type { SqlExecutor } from '@app/database';

/** What code running inside a handler can know about the record being handled. */
export interface Delivery {
  readonly record: ConsumedRecord;
  readonly listener: { readonly groupId: string };
  /** The inbox transaction, when the listener uses the inbox. */
  readonly transaction?: SqlExecutor;
}

const scope = new AsyncLocalStorage<Delivery>();

/**
 * Runs a handler inside its delivery's scope, so what it publishes carries the record's correlation
 * id and names the record as its cause without the handler passing anything along.
 */
export function runInDelivery<T>(delivery: Delivery, work: () => T): T {
  return scope.run(delivery, work);
}

/** The record being handled by the calling code, if any. */
export function currentDelivery(): Delivery | undefined {
  return scope.getStore();
}
