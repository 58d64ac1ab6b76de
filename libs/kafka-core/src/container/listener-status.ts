import { Assignment } from '../client/kafka-client.port';
import type { AckMode } from '../decorators/kafka-listener.decorator';

export type ListenerState = 'stopped' | 'starting' | 'running' | 'paused' | 'stopping' | 'failed';

/** The listener's circuit breaker (Spring Cloud's vocabulary): open stops fetching, half-open probes. */
export type BreakerState = 'closed' | 'open' | 'half-open';

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
  ackMode: AckMode;
  state: ListenerState;
  /** When the listener last started, and when it joined its group after that (ms since epoch). */
  startedAt?: number;
  joinedAt?: number;
  assignment: Assignment;
  inFlight: number;
  /** True while the in-flight bound holds fetching back. */
  backpressure: boolean;
  /** The oldest unfinished record and since when it waits (ms since epoch), for stuck detection. */
  oldestInFlight?: { topic: string; partition: number; offset: string; since: number };
  /**
   * Set while some record fails with an infrastructure (transient) error and waits to be tried again:
   * since when (ms since epoch), how often, and the last error's class and redacted message.
   */
  retrying?: {
    since: number;
    attempts: number;
    lastError: string;
    topic: string;
    partition: number;
    offset: string;
  };
  /** The circuit breaker, when the listener has one. */
  breaker?: { state: BreakerState; since: number; consecutiveFailures: number };
  /** Set while an operator holds the listener paused: since when, and who paused it. */
  paused?: { since: number; by: string };
  /** When the listener last dead-lettered a record (ms since epoch). */
  lastDeadLetterAt?: number;
  /** Totals over all topics (commits are per listener). */
  counters: ListenerCounters;
  countersByTopic: Record<string, ListenerCounters>;
}

export const emptyCounters = (): ListenerCounters => ({
  processed: 0,
  failed: 0,
  retried: 0,
  deadLettered: 0,
  skipped: 0,
  commits: 0,
});
