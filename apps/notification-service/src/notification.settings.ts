import { readSettings } from '@app/platform';

export const NOTIFICATION_SETTINGS = Symbol('NOTIFICATION_SETTINGS');

export const DEFAULT_ESCALATION_CHAIN = ['ward-nurse', 'charge-nurse', 'on-call-physician'];

export interface NotificationSettings {
  /** How long a notification of an escalation waits for its acknowledgment before the next level. */
  ackTimeoutMs: number;
  /** The last level; unacknowledged there, the escalation is exhausted. */
  maxLevel: number;
  /** Where the webhook channel posts; absent: there is no webhook channel. */
  webhookUrl?: string;
  /** Recipient per level: `escalationChain[level - 1]`. */
  escalationChain: string[];
}

/** The notification-service's own variables; every problem at once, as a ConfigError. */
export function readNotificationSettings(env: NodeJS.ProcessEnv): NotificationSettings {
  return readSettings('notification-service', env, (r) => {
    const ackTimeoutMs = r.int('NOTIFICATION_ACK_TIMEOUT_MS', 300_000, 100, 24 * 60 * 60 * 1000);
    const maxLevel = r.int('NOTIFICATION_MAX_LEVEL', 3, 1, 10);
    const webhookUrl = r.url('NOTIFICATION_WEBHOOK_URL');
    const raw = r.string('NOTIFICATION_ESCALATION_CHAIN');
    const escalationChain =
      raw === undefined ? DEFAULT_ESCALATION_CHAIN : raw.split(',').map((s) => s.trim());
    if (escalationChain.some((recipient) => recipient === '' || recipient.length > 200)) {
      r.problems.push(
        'NOTIFICATION_ESCALATION_CHAIN must be comma-separated recipients of 1 to 200 characters, ' +
          `got "${raw}"`,
      );
    } else if (escalationChain.length < maxLevel) {
      r.problems.push(
        `NOTIFICATION_ESCALATION_CHAIN must name a recipient for each of the ${maxLevel} levels ` +
          `(NOTIFICATION_MAX_LEVEL), got ${escalationChain.length}`,
      );
    }
    return { ackTimeoutMs, maxLevel, webhookUrl, escalationChain };
  });
}
