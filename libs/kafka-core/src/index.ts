export { KafkaCoreModule } from './kafka-core.module';
export {
  KafkaCoreModuleOptions,
  KAFKA_CORE_DEFAULTS,
  PublisherOptions,
  PUBLISHER_DEFAULTS,
} from './kafka-core.options';
export { ENVELOPE_HEADERS, deadLetterTopicName, retryTopicName } from './kafka-core.constants';
export {
  KafkaListener,
  KafkaListenerOptions,
  AckMode,
  KeyOrderedConcurrency,
  RetryOptions,
  CircuitBreakerOptions,
} from './decorators/kafka-listener.decorator';
export { Middleware, Handler, InboundMessage, Outcome } from './pipeline/pipeline';
export { KafkaHandler, KafkaHandlerOptions } from './decorators/kafka-handler.decorator';
export { Payload, Key, KafkaHeaders, Ack, Ctx, Tx } from './decorators/kafka-params.decorators';
export { EventContract, EventContractOptions, contractOf } from './decorators/event-contract.decorator';
export { KafkaContext, Acknowledgment, eventIdOf } from './ctx-host/kafka.context';
export { ListenerConfigurationError, ListenerDefaults } from './discovery/listener-definition';
export {
  ConsumedRecord,
  Headers,
  CompressionCodec,
  ProduceError,
  RecordMetadata,
} from './client/kafka-client.port';
export { KafkaPublisher, SendOptions, SendResult, BatchEntry } from './producer/kafka-publisher';
export { EventOptions, MAX_HEADER_VALUE_LENGTH } from './producer/envelope';
export { PublishTimeoutError } from './producer/record-accumulator';
export { KafkaOutbox, OutboxEntry, OutboxEventOptions } from './outbox/kafka-outbox';
export { OutboxRelay } from './outbox/outbox-relay';
export {
  OutboxRelayOptions,
  OUTBOX_RELAY_DEFAULTS,
  OutboxBacklog,
  OutboxRelayCounters,
} from './outbox/outbox-relay.options';
export { OutboxRelayService } from './outbox/outbox-relay.service';
export { KAFKA_CORE_MIGRATIONS, outboxChannel } from './outbox/kafka-core.migrations';
export { currentDelivery, Delivery } from './context/delivery-scope';
export { parseTraceparent, childTraceparent } from './context/trace-context';
// Adapters of the executor port, for callers that hand over their own transaction.
export { SqlExecutor, PgExecutor, PgliteExecutor } from '@app/database';
export { TopicDeclaration, expandDeclarations } from './topics/topic-declaration';
export { DLT_HEADERS } from './pipeline/dead-letter.middleware';
export {
  NonRetryableError,
  DeserializationError,
  PayloadValidationError,
  UnknownEventTypeError,
  HandlerTimeoutError,
} from './errors/kafka-core.errors';
export { BackoffOptions, DEFAULT_BACKOFF } from './errors/backoff';
export { BatchListenerFailedError } from './errors/batch-listener-failed.error';
export { isTransientError } from './errors/transient-errors';
export { classifyFailure } from './errors/error-classifier';
export { redactErrorText } from './errors/redact';
export { BrokerUnavailableError } from './container/wait-for-broker';
export {
  KafkaSecurityOptions,
  KafkaTlsOptions,
  KafkaSaslOptions,
  OauthBearerToken,
  SecurityProtocol,
  SaslMechanism,
  describeSecurity,
} from './client/security/kafka-security';
export {
  kafkaSecurityFromEnv,
  KafkaSecurityConfigError,
  KAFKA_SECURITY_ENV,
  KAFKA_SECURITY_ENV_NAMES,
} from './client/security/security-from-env';
export {
  clientCredentialsTokenProvider,
  ClientCredentialsOptions,
  TokenEndpointError,
} from './client/security/oauth-client-credentials';
export { KafkaAuthenticationError, KafkaAuthorizationError } from './errors/kafka-access.errors';
export { KafkaListenerRegistry } from './container/listener-registry';
export { ListenerStatus, ListenerState, ListenerCounters } from './container/listener-status';
export { KafkaBrokerHealthIndicator } from './health/kafka-broker.health';
export {
  KafkaListenersHealthIndicator,
  ListenerHealth,
  listenerHealth,
} from './health/kafka-listeners.health';
export { KafkaLagHealthIndicator, lagLevel, LagLevel } from './health/kafka-lag.health';
export { OutboxHealthIndicator } from './health/outbox.health';
export { HealthOptions, HEALTH_DEFAULTS } from './kafka-core.options';
export { ConsumerLagMonitor, ListenerLag } from './monitoring/consumer-lag';
export { ProcessingRates } from './monitoring/processing-rates';
export { KafkaMetrics } from './metrics/kafka-metrics';
export { KAFKA_METRICS, SEED_METRIC_MAPPING } from './metrics/metric-names';
export { KafkaAdminController } from './admin/kafka-admin.controller';
export { AdminTokenGuard } from './admin/admin-token.guard';
export { PartitionLag } from './client/kafka-client.port';
