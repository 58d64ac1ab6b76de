import { Injectable, Logger } from '@nestjs/common';
import { AnalyticsFactEvent, TOPICS } from '@app/contracts';
import { SqlExecutor } from '@app/database';
import { Ctx, KafkaContext, KafkaListener, Payload, Tx } from '@app/kafka-core';
import { AnalyticsFactsRepository } from './analytics-facts.repository';

@Injectable()
export class AnalyticsFactListener {
  private readonly logger = new Logger(AnalyticsFactListener.name);

  constructor(private readonly facts: AnalyticsFactsRepository) {}

  /**
   * Invalid facts (a pain score of 11, no occurredAt, ...) never reach this method: kafka-core
   * dead-letters them and the partition keeps flowing. The inbox skips facts this group already
   * handled and hands over the transaction the fact and its counters are written in.
   */
  @KafkaListener({
    id: 'analytics-facts',
    topics: [TOPICS.analyticsEvents],
    groupId: 'analytics-service',
    fromBeginning: true,
    payload: AnalyticsFactEvent,
    inbox: true,
  })
  async onFact(
    @Payload() fact: AnalyticsFactEvent,
    @Ctx() context: KafkaContext,
    @Tx() tx: SqlExecutor,
  ): Promise<void> {
    const stored = await this.facts.record(tx, context.eventId, fact);
    if (!stored) this.logger.debug(`Fact ${context.eventId} already stored; redelivery ignored`);
  }
}
