export * from './topics';
export * from './events/operation-log.event';
export * from './events/audit.event';
export * from './events/escalation.event';
export * from './events/emr.event';
export * from './events/analytics.event';
export * from './events/notification.event';
