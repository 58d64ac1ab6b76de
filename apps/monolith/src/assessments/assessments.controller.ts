import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { Meta, RequestMeta, uuidParam } from '@app/platform';
import { PageQuery } from '@app/platform';
import { RecordAssessmentDto } from './assessment.dto';
import { AssessmentsService } from './assessments.service';

@Controller('patients/:id')
export class AssessmentsController {
  constructor(private readonly assessments: AssessmentsService) {}

  /** 201 with `{ assessment, escalation }` (escalation null when the rule did not fire). */
  @Post('assessments')
  record(@Param('id', uuidParam()) id: string, @Body() body: RecordAssessmentDto, @Meta() meta: RequestMeta) {
    return this.assessments.record(id, body, meta);
  }

  @Get('assessments')
  async list(@Param('id', uuidParam()) id: string, @Query() query: PageQuery) {
    return { items: await this.assessments.list(id, query.limit) };
  }

  @Get('escalations')
  async escalations(@Param('id', uuidParam()) id: string, @Query() query: PageQuery) {
    return { items: await this.assessments.escalations(id, query.limit) };
  }
}
