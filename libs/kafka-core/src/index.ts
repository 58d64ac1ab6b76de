export { KafkaCoreModule } from './kafka-core.module';
export { KafkaCoreModuleOptions, KAFKA_CORE_DEFAULTS } from './kafka-core.options';
export { ENVELOPE_HEADERS, deadLetterTopicName, retryTopicName } from './kafka-core.constants';
export {
  KafkaListener,
  KafkaListenerOptions,
  AckMode,
  KeyOrderedConcurrency,
  RetryOptions,
} from './decorators/kafka-listener.decorator';
export { KafkaHandler, KafkaHandlerOptions } from './decorators/kafka-handler.decorator';
export { Payload, Key, KafkaHeaders, Ack, Ctx } from './decorators/kafka-params.decorators';
export { KafkaContext, Acknowledgment } from './ctx-host/kafka.context';
export { ListenerConfigurationError, ListenerDefaults } from './discovery/listener-definition';
export { ConsumedRecord, Headers } from './client/kafka-client.port';
export { KafkaPublisher, SendOptions, SendResult } from './producer/kafka-publisher';
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
export { BrokerUnavailableError } from './container/wait-for-broker';
export { KafkaListenerRegistry } from './container/listener-registry';
export { ListenerStatus, ListenerState, ListenerCounters } from './container/listener-status';
export { KafkaBrokerHealthIndicator } from './health/kafka-broker.health';
