import { DiscoveryService } from '@nestjs/core';

export interface KafkaListenerOptions {
  /** Topics to consume. */
  topics: string[];
  /** Consumer group; one group per listener. */
  groupId: string;
  /** Listener id for logs and the registry; defaults to `Class.method`. */
  id?: string;
  /** Where a group without committed offsets starts. */
  fromBeginning?: boolean;
}

/**
 * Marks a provider method as a Kafka listener. It only records the options; the explorer reads them
 * once at bootstrap.
 */
export const KafkaListener = DiscoveryService.createDecorator<KafkaListenerOptions>();
