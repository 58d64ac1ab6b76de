// The publishing, outbox and inbox examples of the README, kept here so `npm run typecheck` proves they compile.
import { Injectable } from '@nestjs/common';
import { IsInt, IsString, Max, Min } from 'class-validator';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { EventContract, KafkaListener, KafkaOutbox, KafkaPublisher, Payload, Tx } from '@app/kafka-core';

@EventContract<PainRecorded>({
  topic: 'analytics-events',
  type: 'pain.recorded',
  version: 1,
  key: (e) => e.patientId,
})
export class PainRecorded {
  @IsString() patientId: string;
  @IsInt() @Min(0) @Max(10) score: number;
}

@Injectable()
export class Assessments {
  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly outbox: KafkaOutbox,
    private readonly publisher: KafkaPublisher,
  ) {}

  /** The row and the event commit together, or neither does. */
  async record(patientId: string, score: number): Promise<string> {
    return this.db.transaction(async (tx) => {
      await tx.query('INSERT INTO assessments (patient_id, score) VALUES ($1, $2)', [patientId, score]);
      return this.outbox.enqueue(tx, Object.assign(new PainRecorded(), { patientId, score }));
    });
  }

  /** Straight to Kafka (no database involved): resolves with the partition and offset. */
  async announce(event: PainRecorded) {
    const { partition, offset } = await this.publisher.publish(event);
    return `${partition}@${offset}`;
  }
}

@Injectable()
export class PainStatistics {
  @KafkaListener({ topics: ['analytics-events'], groupId: 'analytics', payload: PainRecorded, inbox: true })
  async onPain(@Payload() event: PainRecorded, @Tx() tx: SqlExecutor) {
    // Runs once per event id: the inbox row and this update commit in the same transaction.
    await tx.query(
      `INSERT INTO pain_stats (patient_id, n, total) VALUES ($1, 1, $2)
       ON CONFLICT (patient_id) DO UPDATE SET n = pain_stats.n + 1, total = pain_stats.total + $2`,
      [event.patientId, event.score],
    );
  }
}
