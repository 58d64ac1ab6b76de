import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KafkaListenerRegistry } from '../container/listener-registry';

const WINDOW_SAMPLES = 11;

/**
 * Records per second per listener over the last ten seconds, from the containers' counters sampled
 * once a second; nothing is added to the path of a record.
 */
@Injectable()
export class ProcessingRates implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly samples = new Map<string, { at: number; processed: number }[]>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly registry: KafkaListenerRegistry) {}

  onApplicationBootstrap(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 1_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Records per second of one listener; 0 before two samples exist. */
  rate(listenerId: string): number {
    const window = this.samples.get(listenerId);
    if (!window || window.length < 2) return 0;
    const first = window[0];
    const last = window[window.length - 1];
    const seconds = (last.at - first.at) / 1_000;
    return seconds > 0 ? (last.processed - first.processed) / seconds : 0;
  }

  private sample(): void {
    const now = Date.now();
    for (const status of this.registry.list()) {
      const window = this.samples.get(status.id) ?? [];
      window.push({ at: now, processed: status.counters.processed });
      if (window.length > WINDOW_SAMPLES) window.shift();
      this.samples.set(status.id, window);
    }
  }
}
