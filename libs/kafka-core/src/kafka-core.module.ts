import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { KAFKA_CLIENT } from './client/kafka-client.port';
import { KafkajsClient } from './client/kafkajs.client';
import { KafkaRuntime } from './container/kafka-runtime';
import { KafkaListenerRegistry } from './container/listener-registry';
import { ListenerExplorer } from './discovery/listener-explorer';
import { AdminTokenGuard } from './admin/admin-token.guard';
import { KafkaBrokerHealthIndicator } from './health/kafka-broker.health';
import { KafkaLagHealthIndicator } from './health/kafka-lag.health';
import { KafkaListenersHealthIndicator } from './health/kafka-listeners.health';
import { OutboxHealthIndicator } from './health/outbox.health';
import { KafkaMetrics } from './metrics/kafka-metrics';
import { MetricsHooks } from './metrics/metrics-hooks';
import { ConsumerLagMonitor } from './monitoring/consumer-lag';
import { ProcessingRates } from './monitoring/processing-rates';
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
        new KafkajsClient({
          brokers: options.brokers,
          clientId: options.clientId,
          security: options.security,
        }),
    },
    ListenerExplorer,
    KafkaPublisher,
    KafkaOutbox,
    OutboxRelayService,
    KafkaRuntime,
    KafkaListenerRegistry,
    KafkaBrokerHealthIndicator,
    KafkaListenersHealthIndicator,
    KafkaLagHealthIndicator,
    OutboxHealthIndicator,
    ConsumerLagMonitor,
    ProcessingRates,
    MetricsHooks,
    KafkaMetrics,
    AdminTokenGuard,
  ],
  exports: [
    // The admin controller and its guard run in the importing module and read the options there.
    MODULE_OPTIONS_TOKEN,
    KafkaPublisher,
    KafkaOutbox,
    OutboxRelayService,
    KafkaBrokerHealthIndicator,
    KafkaListenersHealthIndicator,
    KafkaLagHealthIndicator,
    OutboxHealthIndicator,
    KafkaListenerRegistry,
    ConsumerLagMonitor,
    ProcessingRates,
    AdminTokenGuard,
  ],
})
export class KafkaCoreModule extends ConfigurableModuleClass {}
