import { Handler } from '../../pipeline/pipeline';
import type { ContainerSettings } from '../container-settings';
import { BatchDispatcher } from './batch.dispatcher';
import { Dispatcher, DispatchHost } from './dispatcher';
import { InOrderDispatcher } from './in-order.dispatcher';
import { KeyOrderedDispatcher } from './key-ordered.dispatcher';

/** The listener's dispatch strategy: batch, key-ordered, or in partition order. */
export function createDispatcher(
  host: DispatchHost,
  pipeline: Handler,
  settings: ContainerSettings,
): Dispatcher {
  const { batch, concurrency } = host.definition;
  if (batch) {
    return new BatchDispatcher(
      host,
      settings.batchPipeline ?? pipeline,
      settings.deadLetter,
      settings.recoveryDelayMs,
    );
  }
  return concurrency.keyOrdered ? new KeyOrderedDispatcher(host) : new InOrderDispatcher(host);
}
