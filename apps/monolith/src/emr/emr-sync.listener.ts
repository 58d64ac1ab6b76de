import { performance } from 'node:perf_hooks';
import { Injectable } from '@nestjs/common';
import { EmrPatientUpdatedEvent, TOPICS } from '@app/contracts';
import { SqlExecutor } from '@app/database';
import { KafkaListener, Payload, Tx } from '@app/kafka-core';
import { EmrSyncService } from './emr-sync.service';

@Injectable()
export class EmrSyncListener {
  constructor(private readonly sync: EmrSyncService) {}

  /**
   * The inbox skips a redelivered event (same event id); the version check in `apply` covers the
   * EMR sending one version twice or out of order. Keyed by MRN, so one patient's updates arrive in
   * the order they were published.
   */
  @KafkaListener({
    id: 'emr-sync',
    topics: [TOPICS.emrSyncEvents],
    groupId: 'monolith-emr-sync',
    fromBeginning: true,
    payload: EmrPatientUpdatedEvent,
    inbox: true,
  })
  async onPatientUpdated(@Payload() event: EmrPatientUpdatedEvent, @Tx() tx: SqlExecutor): Promise<void> {
    await this.sync.apply(tx, event, performance.now());
  }
}
