import { Type } from 'class-transformer';
import {
  buildMessage,
  IsDate,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  ValidateBy,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';
import { GRANULARITIES, Granularity } from '../facts/analytics-facts.repository';

/**
 * The date must not be later than the date in `property`, or than now when that one is absent
 * (an open end defaults to now). An unusable other end is reported on its own field instead.
 */
function IsNotAfter(property: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotAfter',
      constraints: [property],
      validator: {
        validate(value: unknown, args?: ValidationArguments): boolean {
          const other = (args?.object as Record<string, unknown>)[property] ?? new Date();
          if (!(value instanceof Date) || !(other instanceof Date)) return true;
          return !(value.getTime() > other.getTime());
        },
        defaultMessage: buildMessage(
          (eachPrefix) => `${eachPrefix}$property must not be after ${property} (default: now)`,
          options,
        ),
      },
    },
    options,
  );
}

/** A time range [from, to) in ISO 8601; the last 24 hours by default. */
export class TimeWindowQueryDto {
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @IsNotAfter('to')
  from?: Date;

  @IsOptional()
  @Type(() => Date)
  @IsDate()
  to?: Date;
}

export class CountsQueryDto extends TimeWindowQueryDto {
  @IsOptional()
  @IsIn(GRANULARITIES)
  granularity: Granularity = 'hour';

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  eventType?: string;
}

export const PAIN_GROUPINGS = ['patient', 'ward'] as const;
export type PainGrouping = (typeof PAIN_GROUPINGS)[number];

export class PainScoresQueryDto extends TimeWindowQueryDto {
  @IsIn(PAIN_GROUPINGS)
  by: PainGrouping;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  patientId?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  ward?: string;
}

export class EscalationRateQueryDto extends TimeWindowQueryDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  ward?: string;
}

export class LatencyQueryDto extends TimeWindowQueryDto {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  eventType?: string;
}
