import { registerDecorator, ValidationOptions } from 'class-validator';

/** Where a page of log entries ended: the last item's time (microseconds, UTC) and event id. */
export interface LogCursor {
  occurredAt: string;
  eventId: string;
}

const MAX_CURSOR_LENGTH = 1000;
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** Opaque to clients: base64url of the JSON pair, so its format may change without breaking them. */
export function encodeLogCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify([cursor.occurredAt, cursor.eventId]), 'utf8').toString('base64url');
}

/** The cursor a client sent back, or undefined when it is not one this service issued. */
export function decodeLogCursor(text: string): LogCursor | undefined {
  if (text.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
  const [occurredAt, eventId] = parsed as unknown[];
  if (typeof occurredAt !== 'string' || !ISO_MICROS.test(occurredAt) || Number.isNaN(Date.parse(occurredAt)))
    return undefined;
  if (typeof eventId !== 'string' || eventId.length === 0 || eventId.length > 512) return undefined;
  return { occurredAt, eventId };
}

export function IsLogCursor(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'isLogCursor',
      target: target.constructor,
      propertyName: String(propertyName),
      options: {
        message: `${String(propertyName)} must be a nextCursor returned by GET /logs`,
        ...options,
      },
      validator: { validate: (value: unknown) => typeof value === 'string' && !!decodeLogCursor(value) },
    });
}
