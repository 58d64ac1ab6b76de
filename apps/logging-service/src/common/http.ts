import { Type } from 'class-transformer';
import {
  IsDate,
  IsOptional,
  registerDecorator,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { PageQuery } from '@app/platform';

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

/** A page of items in a time window, both ends inclusive; `to` may not precede `from`. */
export class TimeWindowQuery extends PageQuery {
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  from?: Date;

  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @NotBefore('from')
  to?: Date;
}
