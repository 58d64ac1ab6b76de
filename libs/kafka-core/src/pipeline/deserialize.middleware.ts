import { plainToInstance } from 'class-transformer';
import { validate, ValidationError } from 'class-validator';
import { ENVELOPE_HEADERS } from '../kafka-core.constants';
import { routeFor, PayloadClass } from '../discovery/listener-definition';
import {
  DeserializationError,
  PayloadFieldError,
  PayloadValidationError,
  UnknownEventTypeError,
} from '../errors/kafka-core.errors';
import { ConsumedRecord } from '../client/kafka-client.port';
import { BatchListenerFailedError } from '../errors/batch-listener-failed.error';
import { Handler, InboundMessage, Middleware, Outcome } from './pipeline';

function fieldErrors(errors: ValidationError[], parent = ''): PayloadFieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, constraints: Object.keys(error.constraints) }] : [];
    return [...own, ...fieldErrors(error.children ?? [], field)];
  });
}

export function parseJson(record: ConsumedRecord): unknown {
  if (record.value === null) return null;
  try {
    return JSON.parse(record.value.toString('utf8'));
  } catch (error) {
    throw new DeserializationError(record.topic, record.partition, record.offset, error);
  }
}

/**
 * JSON → payload class → class-validator. Only constraint names go into the error, never values:
 * they end up in dead-letter headers and must not carry patient data.
 */
export async function toPayload(value: unknown, payloadClass: PayloadClass | undefined): Promise<unknown> {
  if (!payloadClass || value === null || typeof value !== 'object') {
    if (payloadClass) throw new PayloadValidationError([{ field: '(root)', constraints: ['isObject'] }]);
    return value;
  }
  const instance = plainToInstance(payloadClass as new () => object, value);
  const errors = await validate(instance, { forbidUnknownValues: true });
  if (errors.length > 0) throw new PayloadValidationError(fieldErrors(errors));
  return instance;
}

/**
 * Routes by `event-type`, parses the value and validates it against the route's payload class. Not
 * an async function: without a payload class nothing here waits, and records should not pay for a
 * promise they do not need.
 */
export const deserializeMiddleware: Middleware = (next) => (message) => {
  if (message.records) return batchPayloads(message, next);
  try {
    const eventType = message.record.headers[ENVELOPE_HEADERS.eventType];
    const route = routeFor(message.listener, eventType);
    if (!route) {
      if (message.listener.unknownEventType === 'skip') return Promise.resolve({ status: 'skipped' });
      throw new UnknownEventTypeError(eventType);
    }
    message.route = route;
    const value = parseJson(message.record);
    if (!route.payload) {
      message.payload = value;
      return next(message);
    }
    return toPayload(value, route.payload).then((payload) => {
      message.payload = payload;
      return next(message);
    });
  } catch (error) {
    return Promise.reject(error);
  }
};

/**
 * A batch's payloads, in order. At the first record that does not deserialize, the records before it
 * are handled on their own and that record is named (so it alone is dead-lettered; the rest come again).
 */
async function batchPayloads(message: InboundMessage, next: Handler): Promise<Outcome> {
  const route = message.listener.routes[0];
  const records = message.records as readonly ConsumedRecord[];
  const payloads: unknown[] = [];
  message.route = route;
  message.payload = payloads;
  for (let index = 0; index < records.length; index++) {
    try {
      payloads.push(await toPayload(parseJson(records[index]), route.payload));
    } catch (error) {
      if (index > 0) {
        message.records = records.slice(0, index);
        const outcome = await next(message);
        if (outcome.status !== 'success') return outcome;
      }
      throw new BatchListenerFailedError(index, error);
    }
  }
  return next(message);
}
