import { v5 as uuidv5 } from 'uuid';

/** Namespace of the service's name-based ids (a fixed random UUID; changing it changes every id). */
const NAMESPACE = '6f1d7c52-9b8e-4f0a-a3d1-2c4e5b7a9d10';

/**
 * The notification of an escalation at one level. Derived, not random: a delivery repeated after a
 * crash (sent, but its transaction never committed) re-creates the same id, so the receiver sees the
 * same Idempotency-Key and drops the repeat.
 */
export function escalationNotificationId(escalationId: string, level: number): string {
  return uuidv5(`escalation:${escalationId}:level:${level}`, NAMESPACE);
}

/** The notification asked for by one notification.requested event, identified by its event id. */
export function requestNotificationId(sourceEventId: string): string {
  return uuidv5(`request:${sourceEventId}`, NAMESPACE);
}
