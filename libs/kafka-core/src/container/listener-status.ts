import { Assignment } from '../client/kafka-client.port';

export type ListenerState = 'stopped' | 'starting' | 'running' | 'paused' | 'stopping' | 'failed';

/** Counters a container keeps; observability reads them, nothing else writes them. */
export interface ListenerCounters {
  processed: number;
  failed: number;
  retried: number;
  deadLettered: number;
  skipped: number;
  /** Offset commit requests sent to the broker. */
  commits: number;
}

export interface ListenerStatus {
  id: string;
  groupId: string;
  topics: string[];
  state: ListenerState;
  assignment: Assignment;
  inFlight: number;
  /** Since when the oldest unfinished record waits (ms since epoch), for stuck detection. */
  oldestInFlightSince?: number;
  counters: ListenerCounters;
}

export const emptyCounters = (): ListenerCounters => ({
  processed: 0,
  failed: 0,
  retried: 0,
  deadLettered: 0,
  skipped: 0,
  commits: 0,
});
