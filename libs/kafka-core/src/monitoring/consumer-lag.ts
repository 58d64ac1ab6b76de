import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { KAFKA_CLIENT, KafkaAdminPort, KafkaClientPort, PartitionLag } from '../client/kafka-client.port';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KAFKA_CORE_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { withTimeout } from './with-timeout';

export interface ListenerLag {
  listenerId: string;
  groupId: string;
  /** Sum over the listener's partitions. */
  total: number;
  partitions: PartitionLag[];
}

/**
 * Consumer lag from the broker's point of view (committed offsets against end offsets, through the
 * admin API), so it counts what a crash would replay, not what this process has merely fetched. One
 * admin round serves every caller for `maxAgeMs` (metrics scrape, health probe, admin endpoint).
 */
@Injectable()
export class ConsumerLagMonitor implements OnApplicationShutdown {
  private admin?: KafkaAdminPort;
  private latest?: { at: number; lag: Promise<ListenerLag[]> };

  constructor(
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
    private readonly registry: KafkaListenerRegistry,
  ) {}

  lag(maxAgeMs = 1_000): Promise<ListenerLag[]> {
    if (this.latest && Date.now() - this.latest.at <= maxAgeMs) return this.latest.lag;
    const lag = this.compute();
    this.latest = { at: Date.now(), lag };
    // A failed round is not served to the next caller.
    lag.catch(() => {
      if (this.latest?.lag === lag) this.latest = undefined;
    });
    return lag;
  }

  private async compute(): Promise<ListenerLag[]> {
    const timeoutMs = this.options.healthTimeoutMs ?? KAFKA_CORE_DEFAULTS.healthTimeoutMs;
    try {
      this.admin ??= this.client.admin({ retries: 3 });
      const admin = this.admin;
      await withTimeout(admin.connect(), timeoutMs);
      const listeners = this.registry.list().filter((status) => status.topics.length > 0);
      return await Promise.all(
        listeners.map(async (status) => {
          const partitions = await withTimeout(admin.consumerLag(status.groupId, status.topics), timeoutMs);
          return {
            listenerId: status.id,
            groupId: status.groupId,
            total: partitions.reduce((sum, p) => sum + p.lag, 0),
            partitions,
          };
        }),
      );
    } catch (error) {
      const stale = this.admin;
      this.admin = undefined;
      void stale?.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }
}
