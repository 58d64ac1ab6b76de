import { Injectable, NotFoundException } from '@nestjs/common';
import { MetricsHooks } from '../metrics/metrics-hooks';
import { ListenerContainer } from './listener-container';
import { ListenerStatus } from './listener-status';

/** Lists the application's listeners and starts, stops, pauses and resumes them at run time. */
@Injectable()
export class KafkaListenerRegistry {
  private readonly containers = new Map<string, ListenerContainer>();

  constructor(private readonly hooks: MetricsHooks) {}

  register(container: ListenerContainer): void {
    this.containers.set(container.definition.id, container);
  }

  list(): ListenerStatus[] {
    return [...this.containers.values()].map((c) => c.status());
  }

  status(id: string): ListenerStatus {
    return this.get(id).status();
  }

  async start(id: string): Promise<void> {
    await this.get(id).start();
  }

  async stop(id: string): Promise<void> {
    await this.get(id).stop();
  }

  /** Holds the listener paused (across retries, rebalances, restarts) until resumed; `by` is logged. */
  pause(id: string, by?: string): void {
    const container = this.get(id);
    if (container.pause(by)) this.hooks.operator?.pauseAction('pause', container.definition.groupId, id);
  }

  resume(id: string, by?: string): void {
    const container = this.get(id);
    if (container.resume(by)) this.hooks.operator?.pauseAction('resume', container.definition.groupId, id);
  }

  /** Every container, for shutdown. */
  all(): ListenerContainer[] {
    return [...this.containers.values()];
  }

  private get(id: string): ListenerContainer {
    const container = this.containers.get(id);
    if (!container)
      throw new NotFoundException(
        `No Kafka listener "${id}" (known: ${[...this.containers.keys()].join(', ')})`,
      );
    return container;
  }
}
