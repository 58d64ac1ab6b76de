import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  BeforeApplicationShutdown,
} from '@nestjs/common';
import { isRetriable, KAFKA_CLIENT, KafkaAdminPort, KafkaClientPort } from '../client/kafka-client.port';
import { ListenerExplorer } from '../discovery/listener-explorer';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KAFKA_CORE_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { KafkaPublisher } from '../producer/kafka-publisher';
import { ProvisionReport, provisionTopics } from '../topics/topic-provisioner';
import { deadLetterSink } from './dead-letter-sink';
import { ListenerContainer } from './listener-container';
import { waitForBroker } from './wait-for-broker';

/**
 * Startup and shutdown of everything Kafka: wait for the broker, provision topics, start one
 * container per discovered listener; on shutdown stop them before the publisher disconnects.
 */
@Injectable()
export class KafkaRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KafkaCore');
  private readonly containers: ListenerContainer[] = [];

  constructor(
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
    private readonly explorer: ListenerExplorer,
    private readonly publisher: KafkaPublisher,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Bad listener configuration fails here, before any connection is made.
    const definitions = this.explorer.explore();
    const admin = this.client.admin();
    try {
      await waitForBroker(
        admin,
        this.options.brokers,
        this.options.startupTimeoutMs ?? KAFKA_CORE_DEFAULTS.startupTimeoutMs,
        (error, delay) =>
          this.logger.warn(`Waiting for Kafka (${(error as Error).message}); retry in ${delay} ms`),
      );
      const report = await this.provision(admin);
      if (report.created.length > 0) this.logger.log(`Created topics: ${report.created.join(', ')}`);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    const sink = deadLetterSink(this.publisher);
    for (const definition of definitions) {
      const container = new ListenerContainer(definition, this.client, sink, {
        maxAttempts: 3,
        retryDelayMs: 200,
      });
      await container.start();
      this.containers.push(container);
      this.logger.log(
        `Listener ${definition.id} consuming ${definition.topics.join(', ')} as ${definition.groupId}`,
      );
    }
  }

  /** Services sharing a fresh broker create the same topics at once; Kafka flags that race retriable. */
  private async provision(admin: KafkaAdminPort, attempts = 5): Promise<ProvisionReport> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await provisionTopics(
          admin,
          this.options.topics ?? [],
          this.options.replicationFactor ?? KAFKA_CORE_DEFAULTS.replicationFactor,
        );
      } catch (error) {
        if (!isRetriable(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.containers.splice(0).map((container) => container.stop()));
  }
}
