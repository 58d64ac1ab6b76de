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
import { Middleware } from './pipeline';

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

/** Routes by `event-type`, parses the value and validates it against the route's payload class. */
export const deserializeMiddleware: Middleware = (next) => async (message) => {
  const eventType = message.record.headers[ENVELOPE_HEADERS.eventType];
  const route = routeFor(message.listener, eventType);
  if (!route) {
    if (message.listener.unknownEventType === 'skip') return { status: 'skipped' };
    throw new UnknownEventTypeError(eventType);
  }
  message.route = route;
  message.payload = await toPayload(parseJson(message.record), route.payload);
  return next(message);
};
