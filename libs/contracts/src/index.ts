export * from './topics';
export * from './events/operation-log.event';
export * from './events/audit.event';
