import { registerDecorator, ValidationOptions } from 'class-validator';

/**
 * A date (a Date, or an ISO date string such as a birth date) that is not in the future; clocks of
 * the recording devices may run ahead a little, hence the tolerance.
 */
export function NotInFuture(toleranceMs = 0, options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) =>
    registerDecorator({
      name: 'notInFuture',
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message: `${String(propertyName)} must not be in the future`, ...options },
      validator: {
        validate(value: unknown): boolean {
          const time =
            value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : NaN;
          // Malformed values are reported by the property's format constraint, not twice here.
          return Number.isNaN(time) || time <= Date.now() + toleranceMs;
        },
      },
    });
}
