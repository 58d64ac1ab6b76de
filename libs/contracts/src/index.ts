export * from './topics';
export * from './events/operation-log.event';
