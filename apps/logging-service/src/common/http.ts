import { BadRequestException } from '@nestjs/common';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import type { Request } from 'express';
import { FieldError } from '@app/platform';

/** The same 400 body the global validation pipe answers, for checks a DTO cannot express. */
export function invalidFields(fields: FieldError[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: `Invalid fields: ${fields.map((f) => f.field).join(', ')}`,
    fields,
  });
}

/** A header's trimmed value; absent or blank reads as undefined. */
export function headerValue(request: Request, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/**
 * A time that must not be before another property of the same query (`to` after `from`). Only
 * checked when both are valid dates; malformed values are reported by their own constraints.
 */
export function NotBefore(other: string, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'notBefore',
      target: target.constructor,
      propertyName: String(propertyName),
      constraints: [other],
      options: { message: `${String(propertyName)} must not be before ${other}`, ...options },
      validator: {
        validate(value: unknown, args: ValidationArguments): boolean {
          const start = (args.object as Record<string, unknown>)[other];
          if (!(value instanceof Date) || !(start instanceof Date)) return true;
          if (Number.isNaN(value.getTime()) || Number.isNaN(start.getTime())) return true;
          return value.getTime() >= start.getTime();
        },
      },
    });
}
