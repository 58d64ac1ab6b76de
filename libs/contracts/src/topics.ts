import type { TopicDeclaration } from '@app/kafka-core';
import table from './topic-table.json';

export const TOPICS = {
  loggingEvents: 'logging-events',
  analyticsEvents: 'analytics-events',
  escalationEvents: 'escalation-events',
  emrSyncEvents: 'emr-sync-events',
  notificationEvents: 'notification-events',
  auditEvents: 'audit-events',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** One row of the topic table (`topic-table.json`), which the broker's ACLs are derived from too. */
export interface TopicRow {
  partitions: number;
  /** -1 keeps records forever (the audit trail is rebuilt from its topic); absent: the broker default. */
  retentionMs?: number;
  producers: string[];
  consumers: string[];
}

export const TOPIC_TABLE: Record<TopicName, TopicRow> = table.topics;

/** Every topic is consumed by some service, so each gets its retry and dead-letter companions. */
export const TOPIC_DECLARATIONS = Object.fromEntries(
  (Object.entries(TOPIC_TABLE) as [TopicName, TopicRow][]).map(([name, row]) => [
    name,
    {
      name,
      partitions: row.partitions,
      consumed: row.consumers.length > 0,
      ...(row.retentionMs !== undefined ? { configs: { 'retention.ms': String(row.retentionMs) } } : {}),
    },
  ]),
) as Record<TopicName, TopicDeclaration>;

/** Declarations for the topics one service touches. */
export function topicsFor(...names: TopicName[]): TopicDeclaration[] {
  return names.map((name) => TOPIC_DECLARATIONS[name]);
}

/**
 * Declarations for every topic a service produces or consumes according to the table; retry and
 * dead-letter companions only for the topics it consumes (the ACLs grant it nothing on the others').
 */
export function topicsOfService(service: string): TopicDeclaration[] {
  return (Object.entries(TOPIC_TABLE) as [TopicName, TopicRow][])
    .filter(([, row]) => row.producers.includes(service) || row.consumers.includes(service))
    .map(([name, row]) => ({ ...TOPIC_DECLARATIONS[name], consumed: row.consumers.includes(service) }));
}
