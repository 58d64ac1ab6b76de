import { Type } from 'class-transformer';
import {
  IsArray,
  IsDate,
  IsDefined,
  IsObject,
  Matches,
  IsIn,
  IsInt,
  IsISO8601,
  IsNotEmpty,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  ValidateNested,
  ArrayMaxSize,
} from 'class-validator';
import { EventContract } from '@app/kafka-core';
import { TOPICS } from '../topics';

export class EmrDemographics {
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  givenName: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  familyName: string;

  /** Calendar date, e.g. 1961-04-12 (ISO 8601 alone would also take week dates and timestamps). */
  @IsISO8601({ strict: true })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'birthDate must be a calendar date (YYYY-MM-DD)' })
  birthDate: string;

  @IsOptional()
  @IsIn(['female', 'male', 'other', 'unknown'])
  sex?: string;
}

export class EmrAllergy {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  substance: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  reaction?: string;
}

export class EmrMedication {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  dose?: string;
}

/** The EMR's view of one patient at one EMR version, as the EMR sends it. */
export class EmrPatientRecord {
  /** Medical record number: the patient's identity shared by the EMR and the monolith. */
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  mrn: string;

  /** The EMR's record version; only a higher one changes the stored patient. */
  @IsInt()
  @Min(1)
  emrVersion: number;

  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => EmrDemographics)
  demographics: EmrDemographics;

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => EmrAllergy)
  allergies: EmrAllergy[];

  @IsArray()
  @ArrayMaxSize(100)
  @ValidateNested({ each: true })
  @Type(() => EmrMedication)
  medications: EmrMedication[];
}

/**
 * The EMR's full view of one patient at one EMR version (event-carried state transfer): applying it
 * replaces demographics, allergies and medications, unless a newer version was applied already.
 * Keyed by MRN, so one patient's updates are consumed in order; duplicates and stragglers are still
 * expected (redelivery, EMR retries) and are ignored by version.
 */
@EventContract<EmrPatientUpdatedEvent>({
  topic: TOPICS.emrSyncEvents,
  type: 'emr.patient-updated',
  version: 1,
  key: (e) => e.mrn,
})
export class EmrPatientUpdatedEvent extends EmrPatientRecord {
  /** When the monolith accepted it. */
  @Type(() => Date)
  @IsDate()
  receivedAt: Date;
}
