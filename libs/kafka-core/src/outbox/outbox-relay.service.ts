import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { migrate } from '@app/database';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KafkaCoreModuleOptions } from '../kafka-core.options';
import { KafkaPublisher } from '../producer/kafka-publisher';
import { KAFKA_CORE_MIGRATIONS } from './kafka-core.migrations';
import { OutboxRelay } from './outbox-relay';
import { OUTBOX_RELAY_DEFAULTS, OutboxBacklog, OutboxRelayCounters } from './outbox-relay.options';

/**
 * The relay inside the application: kafka-core's tables are migrated before anything starts. The Kafka
 * runtime starts the relay once its own startup succeeded (a failed start leaves no relay holding the
 * leader lock) and stops it before the publisher disconnects.
 */
@Injectable()
export class OutboxRelayService implements OnModuleInit {
  private readonly relay?: OutboxRelay;

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
    publisher: KafkaPublisher,
  ) {
    const { database, outbox } = options;
    if (database && outbox?.relay !== false) {
      const { relay: _relay, ...settings } = outbox ?? {};
      this.relay = new OutboxRelay(database, (topic, records) => publisher.sendRecords(topic, records), {
        ...OUTBOX_RELAY_DEFAULTS,
        ...settings,
      });
    }
  }

  async onModuleInit(): Promise<void> {
    if (this.options.database) await migrate(this.options.database, KAFKA_CORE_MIGRATIONS);
  }

  start(): void {
    this.relay?.start();
  }

  async stop(): Promise<void> {
    await this.relay?.stop();
  }

  /** Whether this instance runs a relay at all (a database is configured and the relay is on). */
  get enabled(): boolean {
    return this.relay !== undefined;
  }

  counters(): OutboxRelayCounters | undefined {
    return this.relay ? { ...this.relay.counters } : undefined;
  }

  backlog(): Promise<OutboxBacklog> | undefined {
    return this.relay?.backlog();
  }
}
