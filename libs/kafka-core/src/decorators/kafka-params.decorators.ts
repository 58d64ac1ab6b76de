import 'reflect-metadata';
import { assignMetadata, PipeTransform, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';

// Nest instantiates parameter pipe classes only under its own route-argument key.
export const KAFKA_PARAMS_METADATA = ROUTE_ARGS_METADATA;

/**
 * Argument kinds a listener method can ask for. The numbers follow Nest's RouteParamtypes, which
 * pipes see as strings: the payload is a `body` (so a global ValidationPipe validates it, as Nest's
 * microservices do), everything else is `custom` (left alone).
 */
export enum KafkaParamtype {
  KEY = 1,
  HEADERS = 2,
  PAYLOAD = 3,
  ACK = 6,
  CONTEXT = 7,
  TRANSACTION = 9,
}

type Pipe = Type<PipeTransform> | PipeTransform;

function param(type: KafkaParamtype, data?: string, ...pipes: Pipe[]): ParameterDecorator {
  return (target, key, index) => {
    if (key === undefined) return;
    // Merges with the parameters declared so far, as Nest's own route parameter decorators do.
    const declared = Reflect.getOwnMetadata(KAFKA_PARAMS_METADATA, target.constructor, key) ?? {};
    Reflect.defineMetadata(
      KAFKA_PARAMS_METADATA,
      assignMetadata(declared, type, index, data, ...pipes),
      target.constructor,
      key,
    );
    if (type !== KafkaParamtype.PAYLOAD) hideFromPipes(target, key, index);
  };
}

/**
 * Only the payload is input. Global pipes see every parameter's declared class, so a global
 * ValidationPipe would validate the context or the acknowledgment as if it were a body; declaring
 * those parameters as plain `Object` makes pipes pass them through untouched. (TypeScript has
 * already written `design:paramtypes` when parameter decorators run.)
 */
function hideFromPipes(target: object, key: string | symbol, index: number): void {
  const declared: unknown[] | undefined = Reflect.getOwnMetadata('design:paramtypes', target, key);
  if (!declared) return;
  const types = [...declared];
  types[index] = Object;
  Reflect.defineMetadata('design:paramtypes', types, target, key);
}

/** The deserialized (and, with a payload class, validated) value; pipes run on it. */
export const Payload = (...pipes: Pipe[]): ParameterDecorator =>
  param(KafkaParamtype.PAYLOAD, undefined, ...pipes);
/** The record key as a string (null when absent). */
export const Key = (): ParameterDecorator => param(KafkaParamtype.KEY);
/** All headers, or one header by name. */
export const KafkaHeaders = (name?: string): ParameterDecorator => param(KafkaParamtype.HEADERS, name);
/** The `Acknowledgment` of the record (manual ack modes). */
export const Ack = (): ParameterDecorator => param(KafkaParamtype.ACK);
/** The `KafkaContext`: topic, partition, offset, timestamp, attempt, group, heartbeat. */
export const Ctx = (): ParameterDecorator => param(KafkaParamtype.CONTEXT);
/** The inbox transaction (listeners with `inbox: true`): the handler's writes commit with the inbox row. */
export const Tx = (): ParameterDecorator => param(KafkaParamtype.TRANSACTION);
