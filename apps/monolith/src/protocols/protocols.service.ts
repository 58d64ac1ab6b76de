import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { Injectable, NotFoundException } from '@nestjs/common';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { KafkaOutbox } from '@app/kafka-core';
import { auditEvent, operationLog } from '../common/change-events';
import { RequestMeta } from '@app/platform';
import { PatientsService } from '../patients/patients.service';
import { ProtocolContentDto } from './protocol.dto';

export interface ProtocolContent {
  name: string;
  steps: string[];
  medications: string[];
  notes: string | null;
}

/** One version of a treatment protocol, with the protocol it belongs to. */
export interface ProtocolVersion extends ProtocolContent {
  id: string;
  patientId: string;
  version: number;
  revisedBy: string;
  revisedAt: Date;
  createdBy: string;
  createdAt: Date;
}

interface VersionRow {
  id: string;
  patient_id: string;
  version: number;
  name: string;
  steps: string[] | string;
  medications: string[] | string;
  notes: string | null;
  revised_by: string;
  revised_at: Date | string;
  created_by: string;
  created_at: Date | string;
}

const json = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

function versionFromRow(row: VersionRow): ProtocolVersion {
  return {
    id: row.id,
    patientId: row.patient_id,
    version: Number(row.version),
    name: row.name,
    steps: json(row.steps),
    medications: json(row.medications),
    notes: row.notes,
    revisedBy: row.revised_by,
    revisedAt: new Date(row.revised_at),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at),
  };
}

const VERSION_SELECT = `
  SELECT p.id, p.patient_id, v.version, v.name, v.steps, v.medications, v.notes, v.revised_by, v.revised_at,
         p.created_by, p.created_at
    FROM treatment_protocols p JOIN protocol_versions v ON v.protocol_id = p.id`;

function contentOf(dto: ProtocolContentDto): ProtocolContent {
  return { name: dto.name, steps: dto.steps, medications: dto.medications ?? [], notes: dto.notes ?? null };
}

@Injectable()
export class ProtocolsService {
  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly outbox: KafkaOutbox,
    private readonly patients: PatientsService,
  ) {}

  async create(patientId: string, dto: ProtocolContentDto, meta: RequestMeta): Promise<ProtocolVersion> {
    return this.db.transaction(async (tx) => {
      const patient = await this.patients.lock(tx, patientId);
      const id = randomUUID();
      const content = contentOf(dto);
      await tx.query('INSERT INTO treatment_protocols (id, patient_id, created_by) VALUES ($1, $2, $3)', [
        id,
        patientId,
        meta.actor,
      ]);
      const created = await this.insertVersion(tx, id, 1, content, meta.actor);
      await this.outbox.enqueueAll(tx, [
        {
          event: auditEvent({
            streamId: `TreatmentProtocol/${id}`,
            eventType: 'protocol.created',
            action: 'C',
            actor: meta.actor,
            purpose: 'treatment',
            patientId,
            data: { patientId, version: 1, ...content },
          }),
          options: { correlationId: meta.correlationId },
        },
        {
          event: operationLog({
            operation: 'protocol.created',
            message: 'Treatment protocol created',
            context: { patientId, ward: patient.ward, protocolId: id, version: 1 },
            startedAt: meta.startedAt,
          }),
          options: { correlationId: meta.correlationId },
        },
      ]);
      return created;
    });
  }

  /** A new version with the whole new content; earlier versions stay as they were. */
  async revise(protocolId: string, dto: ProtocolContentDto, meta: RequestMeta): Promise<ProtocolVersion> {
    return this.db.transaction(async (tx) => {
      // Revisions of one protocol take turns on its row, so version numbers never collide.
      const locked = await tx.query<{ current_version: number; ward: string | null }>(
        `SELECT p.current_version, pt.ward FROM treatment_protocols p JOIN patients pt ON pt.id = p.patient_id
          WHERE p.id = $1 FOR UPDATE OF p`,
        [protocolId],
      );
      if (!locked.rows[0]) throw new NotFoundException(`Treatment protocol ${protocolId} not found`);
      const previous = await this.latestIn(tx, protocolId);
      const version = Number(locked.rows[0].current_version) + 1;
      const content = contentOf(dto);
      await tx.query('UPDATE treatment_protocols SET current_version = $2 WHERE id = $1', [
        protocolId,
        version,
      ]);
      const revised = await this.insertVersion(tx, protocolId, version, content, meta.actor);
      const changes: Record<string, unknown> = { version };
      for (const field of Object.keys(content) as (keyof ProtocolContent)[]) {
        if (!isDeepStrictEqual(content[field], previous[field])) changes[field] = content[field];
      }
      await this.outbox.enqueueAll(tx, [
        {
          event: auditEvent({
            streamId: `TreatmentProtocol/${protocolId}`,
            eventType: 'protocol.revised',
            action: 'U',
            actor: meta.actor,
            purpose: 'treatment',
            patientId: revised.patientId,
            data: changes,
          }),
          options: { correlationId: meta.correlationId },
        },
        {
          event: operationLog({
            operation: 'protocol.revised',
            message: `Treatment protocol revised to version ${version}`,
            context: { patientId: revised.patientId, ward: locked.rows[0].ward, protocolId, version },
            startedAt: meta.startedAt,
          }),
          options: { correlationId: meta.correlationId },
        },
      ]);
      return revised;
    });
  }

  latest(protocolId: string): Promise<ProtocolVersion> {
    return this.latestIn(this.db, protocolId);
  }

  /** Every version, oldest first. */
  async versions(protocolId: string): Promise<ProtocolVersion[]> {
    const { rows } = await this.db.query<VersionRow>(`${VERSION_SELECT} WHERE p.id = $1 ORDER BY v.version`, [
      protocolId,
    ]);
    if (rows.length === 0) throw new NotFoundException(`Treatment protocol ${protocolId} not found`);
    return rows.map(versionFromRow);
  }

  private async latestIn(executor: SqlExecutor, protocolId: string): Promise<ProtocolVersion> {
    const { rows } = await executor.query<VersionRow>(
      `${VERSION_SELECT} WHERE p.id = $1 ORDER BY v.version DESC LIMIT 1`,
      [protocolId],
    );
    if (!rows[0]) throw new NotFoundException(`Treatment protocol ${protocolId} not found`);
    return versionFromRow(rows[0]);
  }

  private async insertVersion(
    tx: SqlExecutor,
    protocolId: string,
    version: number,
    content: ProtocolContent,
    actor: string,
  ): Promise<ProtocolVersion> {
    await tx.query(
      `INSERT INTO protocol_versions (protocol_id, version, name, steps, medications, notes, revised_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        protocolId,
        version,
        content.name,
        JSON.stringify(content.steps),
        JSON.stringify(content.medications),
        content.notes,
        actor,
      ],
    );
    return this.latestIn(tx, protocolId);
  }
}
