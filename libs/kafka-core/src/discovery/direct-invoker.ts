import {
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
} from '@nestjs/common/constants';
import { ExternalContextCreator } from '@nestjs/core';
import { KAFKA_PARAMS_METADATA } from '../decorators/kafka-params.decorators';
import { KafkaParamsFactory } from './kafka-params.factory';
import { Invoker } from './listener-definition';

interface GlobalEnhancers {
  getGlobalPipes(): unknown[];
  getGlobalGuards(): unknown[];
  getGlobalInterceptors(): unknown[];
  getGlobalFilters(): unknown[];
  getGlobalRequestPipes(): unknown[];
  getGlobalRequestGuards(): unknown[];
  getGlobalRequestInterceptors(): unknown[];
  getGlobalRequestFilters(): unknown[];
}

type ParamsMetadata = Record<string, { index: number; data?: string; pipes?: unknown[] }>;

const hasAny = (value: unknown) => Array.isArray(value) && value.length > 0;

/** The application config the context creator holds (Nest 11 internals, pinned); undefined if absent. */
function globalEnhancers(contextCreator: ExternalContextCreator): GlobalEnhancers | undefined {
  return (contextCreator as unknown as { pipesContextCreator?: { config?: GlobalEnhancers } })
    .pipesContextCreator?.config;
}

/**
 * True when no guard, interceptor, pipe or filter can apply to the method, globally or locally: then
 * Nest's context wrapper only costs time on every record (about a microsecond each), and the method
 * is called directly. The global lists are read from the application config the context creator
 * holds (Nest 11 internals, pinned); when it cannot be found the wrapper is always kept.
 */
export function needsNestContext(
  contextCreator: ExternalContextCreator,
  instance: object,
  method: string,
): boolean {
  const config = globalEnhancers(contextCreator);
  if (!config) return true;
  const globals = [
    config.getGlobalPipes(),
    config.getGlobalGuards(),
    config.getGlobalInterceptors(),
    config.getGlobalFilters(),
    config.getGlobalRequestPipes(),
    config.getGlobalRequestGuards(),
    config.getGlobalRequestInterceptors(),
    config.getGlobalRequestFilters(),
  ];
  if (globals.some(hasAny)) return true;
  const callback = (instance as Record<string, unknown>)[method] as object;
  const keys = [PIPES_METADATA, GUARDS_METADATA, INTERCEPTORS_METADATA, EXCEPTION_FILTERS_METADATA];
  if (
    keys.some(
      (key) =>
        hasAny(Reflect.getMetadata(key, instance.constructor)) || hasAny(Reflect.getMetadata(key, callback)),
    )
  ) {
    return true;
  }
  const params: ParamsMetadata =
    Reflect.getMetadata(KAFKA_PARAMS_METADATA, instance.constructor, method) ?? {};
  return Object.values(params).some((param) => hasAny(param.pipes));
}

/**
 * Exception filters only when some could apply: with none, Nest's fallback filter would log every
 * failed attempt, raw message and stack, at ERROR; kafka-core reports failures itself (sanitised).
 */
export function hasExceptionFilters(
  contextCreator: ExternalContextCreator,
  instance: object,
  method: string,
): boolean {
  const config = globalEnhancers(contextCreator);
  if (!config) return true;
  if (hasAny(config.getGlobalFilters()) || hasAny(config.getGlobalRequestFilters())) return true;
  const callback = (instance as Record<string, unknown>)[method] as object;
  return (
    hasAny(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, instance.constructor)) ||
    hasAny(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, callback))
  );
}

/** Calls the method with its decorated parameters, without Nest's context machinery. */
export function directInvoker(instance: object, method: string, paramsFactory: KafkaParamsFactory): Invoker {
  const callback = (instance as Record<string, (...args: unknown[]) => unknown>)[method].bind(instance);
  const params: ParamsMetadata =
    Reflect.getMetadata(KAFKA_PARAMS_METADATA, instance.constructor, method) ?? {};
  const mapped = Object.entries(params).map(([key, param]) => ({
    index: param.index,
    type: Number(key.split(':')[0]),
    data: param.data,
  }));
  if (mapped.length === 0) {
    return (payload, context, ack) => callback(payload, context, ack);
  }
  const size = Math.max(...mapped.map((p) => p.index)) + 1;
  return (payload, context, ack) => {
    const raw = [payload, context, ack];
    const args = new Array<unknown>(size);
    for (const p of mapped) args[p.index] = paramsFactory.exchangeKeyForValue(p.type, p.data as string, raw);
    return callback(...args);
  };
}
