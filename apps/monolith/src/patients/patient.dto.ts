import {
  IsIn,
  IsISO8601,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { NotInFuture } from '../common/validators';
import { PageQuery } from '@app/platform';
import { PATIENT_SEXES } from './patient.model';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export class CreatePatientDto {
  /** Medical record number, the identity shared with the EMR. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  mrn: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  givenName: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  familyName: string;

  @Matches(ISO_DATE, { message: 'birthDate must be an ISO date (YYYY-MM-DD)' })
  @IsISO8601({ strict: true }, { message: 'birthDate must be a valid calendar date' })
  @NotInFuture()
  birthDate: string;

  @IsOptional()
  @IsIn(PATIENT_SEXES)
  sex?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  ward?: string;
}

/** Names can be changed, not removed; ward and sex can be cleared with null. */
export class UpdatePatientDto {
  @ValidateIf((_, value) => value !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  givenName?: string;

  @ValidateIf((_, value) => value !== undefined)
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  familyName?: string;

  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  ward?: string | null;

  @IsOptional()
  @IsIn(PATIENT_SEXES)
  sex?: string | null;
}

export const UPDATABLE_PATIENT_FIELDS = ['givenName', 'familyName', 'ward', 'sex'] as const;

export class PatientQueryDto extends PageQuery {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  ward?: string;
}
