import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { invalidFields, Meta, RequestMeta, uuidParam } from '@app/platform';
import { CreatePatientDto, PatientQueryDto, UPDATABLE_PATIENT_FIELDS, UpdatePatientDto } from './patient.dto';
import { PatientsService } from './patients.service';

@Controller('patients')
export class PatientsController {
  constructor(private readonly patients: PatientsService) {}

  /** 201 with the patient; 409 when the MRN is taken. */
  @Post()
  create(@Body() body: CreatePatientDto, @Meta() meta: RequestMeta) {
    return this.patients.create(body, meta);
  }

  @Get()
  async list(@Query() query: PatientQueryDto) {
    return { items: await this.patients.list(query) };
  }

  @Get(':id')
  get(@Param('id', uuidParam()) id: string) {
    return this.patients.get(id);
  }

  @Patch(':id')
  update(@Param('id', uuidParam()) id: string, @Body() body: UpdatePatientDto, @Meta() meta: RequestMeta) {
    if (UPDATABLE_PATIENT_FIELDS.every((field) => body[field] === undefined)) {
      throw invalidFields(
        UPDATABLE_PATIENT_FIELDS.map((field) => ({
          field,
          errors: [`at least one of ${UPDATABLE_PATIENT_FIELDS.join(', ')} is required`],
        })),
      );
    }
    return this.patients.update(id, body, meta);
  }
}
