import type { ListenerObserver } from '../metrics/metrics-hooks';
import { Handler } from '../pipeline/pipeline';
import type { DeadLetter } from './dispatch/batch.dispatcher';

export interface ContainerSettings {
  /** Told the duration of every delivery attempt (metrics). */
  observer?: ListenerObserver;
  /** How long `stop()` waits for in-flight records before it commits what finished and leaves. */
  shutdownTimeoutMs: number;
  /** Delay before a record whose failure could not even be recorded (e.g. dead-letter publish) is tried again. */
  recoveryDelayMs: number;
  /** Disposes of a record that failed for good (dead letter, or skip); throws when that fails. */
  deadLetter: DeadLetter;
  /** Batch listeners: the pipeline without the dead-letter step (the dispatcher disposes per record). */
  batchPipeline?: Handler;
}
