import { Injectable } from '@nestjs/common';

/** Where the container reports the duration of each delivery attempt, one series per topic. */
export interface ListenerObserver {
  durations(topic: string, groupId: string, listenerId: string): { observe(seconds: number): void };
}

/** What the publisher reports per produce request. */
export interface PublisherObserver {
  request(topics: { topic: string; records: number }[], seconds: number, failed: boolean): void;
}

/** What the registry reports when an operator pauses or resumes a listener. */
export interface OperatorObserver {
  pauseAction(action: 'pause' | 'resume', groupId: string, listenerId: string): void;
}

/**
 * Where the metrics plug into the publisher and the containers. A holder without dependencies, so the
 * publisher (which the metrics' outbox gauges depend on, through the relay) need not depend on them.
 */
@Injectable()
export class MetricsHooks {
  listener?: ListenerObserver;
  publisher?: PublisherObserver;
  operator?: OperatorObserver;
}
