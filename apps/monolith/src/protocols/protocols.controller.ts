import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { Meta, RequestMeta, uuidParam } from '@app/platform';
import { ProtocolContentDto } from './protocol.dto';
import { ProtocolsService } from './protocols.service';

@Controller()
export class ProtocolsController {
  constructor(private readonly protocols: ProtocolsService) {}

  /** 201 with version 1 of the new protocol. */
  @Post('patients/:id/protocols')
  create(@Param('id', uuidParam()) id: string, @Body() body: ProtocolContentDto, @Meta() meta: RequestMeta) {
    return this.protocols.create(id, body, meta);
  }

  /** 201 with the new version. */
  @Post('protocols/:id/revisions')
  revise(@Param('id', uuidParam()) id: string, @Body() body: ProtocolContentDto, @Meta() meta: RequestMeta) {
    return this.protocols.revise(id, body, meta);
  }

  /** The latest version. */
  @Get('protocols/:id')
  latest(@Param('id', uuidParam()) id: string) {
    return this.protocols.latest(id);
  }

  @Get('protocols/:id/versions')
  async versions(@Param('id', uuidParam()) id: string) {
    return { items: await this.protocols.versions(id) };
  }
}
