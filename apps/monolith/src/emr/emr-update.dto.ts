import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsDefined,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsString,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { EmrAllergy, EmrDemographics, EmrMedication } from '@app/contracts';

/**
 * `EmrPatientUpdatedEvent` as the EMR posts it: every field but `receivedAt`, which is stamped on
 * arrival. The nested classes are the contract's own, so their rules
 * cannot drift apart.
 */
export class EmrPatientUpdateDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(50)
  mrn: string;

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
