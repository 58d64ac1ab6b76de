import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createParamDecorator, ExecutionContext, ParseUUIDPipe } from '@nestjs/common';
import type { Request, Response } from 'express';
import { FieldError, invalidFields } from './validation.pipe';

/** A path id that must be a UUID; a malformed one is a 400 naming the parameter, like a bad body field. */
export function uuidParam(name = 'id'): ParseUUIDPipe {
  return new ParseUUIDPipe({
    exceptionFactory: () => invalidFields([{ field: name, errors: [`${name} must be a UUID`] }]),
  });
}

/**
 * The conventions every service's HTTP API shares: `x-actor` names who acts, `x-correlation-id`
 * follows the request through every event it causes, and malformed input answers the pipe's 400.
 */

/** Who acts, under which correlation id, and since when (for `durationMs`). */
export interface RequestMeta {
  /** The `x-actor` header, or `anonymous`. */
  actor: string;
  /** Whether the caller named the actor (some services fall back to a body field instead). */
  identified: boolean;
  correlationId: string;
  startedAt: number;
}

export const ACTOR_HEADER = 'x-actor';
export const CORRELATION_HEADER = 'x-correlation-id';
const MAX_ACTOR_LENGTH = 200;
const MAX_CORRELATION_LENGTH = 128;

/** A header's trimmed value; absent or blank reads as undefined. */
export function headerValue(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

export function requestMeta(request: Request, response?: Response): RequestMeta {
  const startedAt = performance.now();
  const actor = headerValue(request, ACTOR_HEADER);
  const correlation = headerValue(request, CORRELATION_HEADER);
  const problems: FieldError[] = [];
  if (actor !== undefined && actor.length > MAX_ACTOR_LENGTH) {
    problems.push({
      field: ACTOR_HEADER,
      errors: [`${ACTOR_HEADER} must be at most ${MAX_ACTOR_LENGTH} characters`],
    });
  }
  if (correlation !== undefined && correlation.length > MAX_CORRELATION_LENGTH) {
    problems.push({
      field: CORRELATION_HEADER,
      errors: [`${CORRELATION_HEADER} must be at most ${MAX_CORRELATION_LENGTH} characters`],
    });
  }
  if (problems.length > 0) throw invalidFields(problems);
  // Without a caller's id, one is made up so every event of this request still shares one.
  const correlationId = correlation ?? randomUUID();
  response?.setHeader(CORRELATION_HEADER, correlationId);
  return { actor: actor ?? 'anonymous', identified: actor !== undefined, correlationId, startedAt };
}

/** The request's actor, correlation id and start; answers 400 when a header is too long. */
export const Meta = createParamDecorator((_: unknown, context: ExecutionContext): RequestMeta => {
  const http = context.switchToHttp();
  return requestMeta(http.getRequest<Request>(), http.getResponse<Response>());
});

/** Milliseconds since `startedAt`, rounded to microseconds. */
export function elapsedMs(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1000) / 1000;
}
