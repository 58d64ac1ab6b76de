import { KafkaListenerOptions } from '../decorators/kafka-listener.decorator';

/** Handler payload: the record's JSON value, plus the record itself for headers and position. */
export type ListenerHandler = (
  payload: unknown,
  record: import('../client/kafka-client.port').ConsumedRecord,
) => unknown;

/** A discovered listener as plain data: what to consume and whom to call. */
export interface ListenerDefinition {
  id: string;
  topics: string[];
  groupId: string;
  fromBeginning: boolean;
  handler: ListenerHandler;
}

export function toDefinition(
  options: KafkaListenerOptions,
  className: string,
  methodName: string,
  handler: ListenerHandler,
): ListenerDefinition {
  const id = options.id ?? `${className}.${methodName}`;
  if (!Array.isArray(options.topics) || options.topics.length === 0) {
    throw new Error(`@KafkaListener ${id}: "topics" must name at least one topic`);
  }
  if (!options.groupId) {
    throw new Error(`@KafkaListener ${id}: "groupId" is required`);
  }
  return {
    id,
    topics: [...options.topics],
    groupId: options.groupId,
    fromBeginning: !!options.fromBeginning,
    handler,
  };
}
