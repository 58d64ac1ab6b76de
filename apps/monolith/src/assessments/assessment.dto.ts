import { Type } from 'class-transformer';
import { IsDate, IsInt, IsNotEmpty, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { NotInFuture } from '../common/validators';

/** Devices' clocks may run a little ahead of the server's. */
const CLOCK_SKEW_MS = 60_000;

export class RecordAssessmentDto {
  /** Numeric rating scale, 0 (no pain) to 10 (worst imaginable). */
  @IsInt()
  @Min(0)
  @Max(10)
  score: number;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  location: string;

  @IsOptional()
  @IsString()
  @MaxLength(2000)
  notes?: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  recordedBy: string;

  /** When the patient was assessed; absent: now. */
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @NotInFuture(CLOCK_SKEW_MS)
  recordedAt?: Date;
}
