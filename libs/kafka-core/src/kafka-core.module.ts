import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { KAFKA_CLIENT } from './client/kafka-client.port';
import { KafkajsClient } from './client/kafkajs.client';
import { KafkaRuntime } from './container/kafka-runtime';
import { KafkaListenerRegistry } from './container/listener-registry';
import { ListenerExplorer } from './discovery/listener-explorer';
import { KafkaBrokerHealthIndicator } from './health/kafka-broker.health';
import { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } from './kafka-core.module-definition';
import { KafkaCoreModuleOptions } from './kafka-core.options';
import { KafkaOutbox } from './outbox/kafka-outbox';
import { OutboxRelayService } from './outbox/outbox-relay.service';
import { KafkaPublisher } from './producer/kafka-publisher';

@Module({
  imports: [DiscoveryModule, TerminusModule],
  providers: [
    {
      provide: KAFKA_CLIENT,
      inject: [MODULE_OPTIONS_TOKEN],
      useFactory: (options: KafkaCoreModuleOptions) =>
        new KafkajsClient({ brokers: options.brokers, clientId: options.clientId }),
    },
    ListenerExplorer,
    KafkaPublisher,
    KafkaOutbox,
    OutboxRelayService,
    KafkaRuntime,
    KafkaListenerRegistry,
    KafkaBrokerHealthIndicator,
  ],
  exports: [
    KafkaPublisher,
    KafkaOutbox,
    OutboxRelayService,
    KafkaBrokerHealthIndicator,
    KafkaListenerRegistry,
  ],
})
export class KafkaCoreModule extends ConfigurableModuleClass {}
