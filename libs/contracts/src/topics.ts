import type { TopicDeclaration } from '@app/kafka-core';

/** The topic table of the architecture page: name, partitions, who produces and who consumes. */
export const TOPICS = {
  loggingEvents: 'logging-events',
  analyticsEvents: 'analytics-events',
  escalationEvents: 'escalation-events',
  emrSyncEvents: 'emr-sync-events',
  notificationEvents: 'notification-events',
  auditEvents: 'audit-events',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

const WEEK_MS = String(7 * 24 * 60 * 60 * 1000);

/** Every topic is consumed by some service, so each gets its retry and dead-letter companions. */
export const TOPIC_DECLARATIONS: Record<TopicName, TopicDeclaration> = {
  'logging-events': {
    name: TOPICS.loggingEvents,
    partitions: 3,
    consumed: true,
    configs: { 'retention.ms': WEEK_MS },
  },
  'analytics-events': {
    name: TOPICS.analyticsEvents,
    partitions: 3,
    consumed: true,
    configs: { 'retention.ms': WEEK_MS },
  },
  'escalation-events': { name: TOPICS.escalationEvents, partitions: 2, consumed: true },
  'emr-sync-events': { name: TOPICS.emrSyncEvents, partitions: 2, consumed: true },
  'notification-events': { name: TOPICS.notificationEvents, partitions: 2, consumed: true },
  // The audit trail is rebuilt from this topic, so it is never deleted by age.
  'audit-events': {
    name: TOPICS.auditEvents,
    partitions: 2,
    consumed: true,
    configs: { 'retention.ms': '-1' },
  },
};

/** Declarations for the topics one service touches. */
export function topicsFor(...names: TopicName[]): TopicDeclaration[] {
  return names.map((name) => TOPIC_DECLARATIONS[name]);
}
