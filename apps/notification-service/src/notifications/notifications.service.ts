import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import {
  EscalationAckDueEvent,
  NOTIFICATION_PRIORITIES,
  NotificationPriority,
  NotificationRequestedEvent,
  PainEscalationEvent,
} from '@app/contracts';
import { Database, InjectDatabase, SqlExecutor } from '@app/database';
import { KafkaOutbox, OutboxEntry } from '@app/kafka-core';
import { ChannelRegistry } from '../channels/channel-registry';
import { NotificationChannel } from '../channels/notification-channel';
import { NOTIFICATION_SETTINGS, NotificationSettings } from '../notification.settings';
import { escalationNotificationId, requestNotificationId } from './notification-ids';
import {
  Escalation,
  NewNotification,
  Notification,
  NotificationsRepository,
} from './notifications.repository';
import { auditEvent, escalationStream, notificationStream, operationLog, SYSTEM_ACTOR } from './records';

const SEVERITY_PRIORITY: Record<string, NotificationPriority> = {
  moderate: 'normal',
  high: 'high',
  critical: 'critical',
};

export interface Acknowledgement {
  notification: Notification;
  escalation: Escalation | null;
}

export interface AcknowledgeInput {
  acknowledgedBy: string;
  note?: string;
  /** Who acts (the `x-actor` header); the audit falls back to the acknowledging person. */
  actor?: string;
  correlationId?: string;
}

/** The state a notification is created with, as its C audit event records it. */
function createdState(n: Notification): Record<string, unknown> {
  return {
    kind: n.kind,
    escalationId: n.escalationId,
    level: n.level,
    recipient: n.recipient,
    channel: n.channel,
    subject: n.subject,
    priority: n.priority,
    patientId: n.patientId,
    status: n.status,
    sentAt: n.sentAt.toISOString(),
  };
}

/**
 * Escalations, their levels and acknowledgments, and one-off notifications.
 *
 * Delivery contract: at least once, with an idempotency key. Every send happens inside the
 * transaction that records the notification (the listener's inbox transaction), as its last step
 * before commit. A redelivered event is skipped by the inbox, so a committed notification is never
 * sent again; a crash after the send but before the commit rolls the notification back, and the
 * redelivery sends it again under the same derived id (the webhook's `Idempotency-Key`), which lets
 * the receiver drop the repeat.
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    @InjectDatabase() private readonly db: Database,
    private readonly repository: NotificationsRepository,
    private readonly channels: ChannelRegistry,
    private readonly outbox: KafkaOutbox,
    @Inject(NOTIFICATION_SETTINGS) private readonly settings: NotificationSettings,
  ) {}

  /** A new escalation: its level-1 notification to the first recipient of the chain. */
  async openEscalation(event: PainEscalationEvent, sourceEventId: string, tx: SqlExecutor): Promise<void> {
    const startedAt = Date.now();
    const channel = this.channels.resolve();
    const now = new Date();
    const opened = await this.repository.insertEscalation(tx, {
      escalationId: event.escalationId,
      patientId: event.patientId,
      ward: event.ward ?? null,
      severity: event.severity,
      score: event.score,
      previousScore: event.previousScore ?? null,
      reasons: event.reasons,
      raisedAt: event.raisedAt,
      openedAt: now,
      sourceEventId,
    });
    if (!opened) {
      this.logger.debug(`Escalation ${event.escalationId} is known already; event ${sourceEventId} ignored`);
      return;
    }
    const escalation = (await this.repository.lockEscalation(tx, event.escalationId)) as Escalation;
    const entries: OutboxEntry[] = [
      {
        event: auditEvent({
          streamId: escalationStream(escalation.escalationId),
          eventType: 'escalation.opened',
          action: 'C',
          actor: SYSTEM_ACTOR,
          patientId: escalation.patientId,
          data: {
            patientId: escalation.patientId,
            ward: escalation.ward,
            severity: escalation.severity,
            score: escalation.score,
            previousScore: escalation.previousScore,
            reasons: escalation.reasons,
            currentLevel: 1,
            status: 'open',
            raisedAt: escalation.raisedAt.toISOString(),
          },
          occurredAt: now,
        }),
      },
    ];
    await this.notifyLevel(tx, escalation, 1, channel, sourceEventId, entries, startedAt);
  }

  /** A one-off notification asked for by another service. */
  async request(event: NotificationRequestedEvent, sourceEventId: string, tx: SqlExecutor): Promise<void> {
    const startedAt = Date.now();
    const channel = this.channels.resolve(event.channel);
    const notification = await this.repository.insertNotification(tx, {
      id: requestNotificationId(sourceEventId),
      kind: 'request',
      escalationId: null,
      level: null,
      recipient: event.recipient,
      channel: channel.name,
      subject: event.subject,
      body: event.body,
      priority: event.priority,
      patientId: event.patientId ?? null,
      sentAt: new Date(),
      sourceEventId,
    });
    await this.outbox.enqueueAll(tx, this.sentRecords(notification, startedAt));
    await this.deliver(channel, notification);
  }

  /**
   * An acknowledgment deadline passed. Still open at that level: the next level is notified, or, past
   * the last one, the escalation is exhausted. Acknowledged, exhausted or beyond that level already:
   * nothing to do.
   */
  async acknowledgementDue(
    event: EscalationAckDueEvent,
    sourceEventId: string,
    tx: SqlExecutor,
  ): Promise<void> {
    const startedAt = Date.now();
    const escalation = await this.repository.lockEscalation(tx, event.escalationId);
    if (!escalation) {
      this.logger.warn(`Deadline of unknown escalation ${event.escalationId} ignored`);
      return;
    }
    if (escalation.status !== 'open' || escalation.currentLevel !== event.level) {
      this.logger.debug(
        `Deadline of escalation ${event.escalationId} level ${event.level} passed; it is ${escalation.status} ` +
          `at level ${escalation.currentLevel}, nothing to do`,
      );
      return;
    }
    const now = new Date();
    const current = await this.repository.notificationAtLevel(tx, escalation.escalationId, event.level);
    if (event.level >= this.settings.maxLevel) {
      await this.exhaust(tx, escalation, current, now, startedAt);
      return;
    }
    const channel = this.channels.resolve();
    const nextLevel = event.level + 1;
    const entries: OutboxEntry[] = [];
    if (current) {
      const superseded = await this.repository.setNotificationStatus(tx, current.id, 'superseded');
      entries.push({
        event: auditEvent({
          streamId: notificationStream(superseded.id),
          eventType: 'notification.superseded',
          action: 'U',
          actor: SYSTEM_ACTOR,
          patientId: superseded.patientId,
          data: { status: 'superseded' },
          occurredAt: now,
        }),
      });
    }
    const escalated = await this.repository.updateEscalation(
      tx,
      escalation.escalationId,
      { currentLevel: nextLevel },
      now,
    );
    const recipient = this.settings.escalationChain[nextLevel - 1];
    entries.push(
      {
        event: auditEvent({
          streamId: escalationStream(escalated.escalationId),
          eventType: 'escalation.re-escalated',
          action: 'E',
          actor: SYSTEM_ACTOR,
          patientId: escalated.patientId,
          data: {
            fromLevel: event.level,
            toLevel: nextLevel,
            recipient,
            notificationId: escalationNotificationId(escalated.escalationId, nextLevel),
            unacknowledgedNotificationId: event.notificationId,
          },
          occurredAt: now,
        }),
      },
      {
        event: operationLog({
          level: 'warn',
          operation: 'escalation.re-escalated',
          message: `Escalation ${escalated.escalationId} not acknowledged at level ${event.level}; level ${nextLevel} notifies ${recipient}`,
          context: this.escalationContext(escalated, nextLevel),
          startedAt,
        }),
      },
    );
    await this.notifyLevel(tx, escalated, nextLevel, channel, sourceEventId, entries, startedAt);
  }

  /** Acknowledges a notification and its escalation, so no further level is notified. */
  async acknowledge(id: string, input: AcknowledgeInput): Promise<Acknowledgement> {
    const startedAt = Date.now();
    return this.db.transaction(async (tx) => {
      const found = await this.repository.findNotification(id, tx);
      if (!found) throw new NotFoundException(`Notification ${id} not found`);
      // Escalation first, then notification: the same lock order as the deadline handler.
      let escalation = found.escalationId
        ? ((await this.repository.lockEscalation(tx, found.escalationId)) ?? null)
        : null;
      const notification = (await this.repository.findNotification(id, tx, true)) as Notification;
      if (notification.status === 'acknowledged') {
        if (notification.acknowledgedBy === input.acknowledgedBy) return { notification, escalation };
        throw new ConflictException({
          statusCode: 409,
          error: 'Conflict',
          message: `Notification ${id} was already acknowledged by someone else`,
          acknowledgedBy: notification.acknowledgedBy,
          acknowledgedAt: notification.acknowledgedAt,
        });
      }
      const now = new Date();
      const actor = input.actor ?? input.acknowledgedBy;
      const acknowledged = await this.repository.acknowledgeNotification(
        tx,
        id,
        input.acknowledgedBy,
        input.note ?? null,
        now,
      );
      const entries: OutboxEntry[] = [
        {
          event: auditEvent({
            streamId: notificationStream(id),
            eventType: 'notification.acknowledged',
            action: 'U',
            actor,
            patientId: acknowledged.patientId,
            data: {
              status: 'acknowledged',
              acknowledgedAt: now.toISOString(),
              acknowledgedBy: input.acknowledgedBy,
              ...(input.note !== undefined ? { ackNote: input.note } : {}),
            },
            occurredAt: now,
          }),
        },
      ];
      if (escalation && escalation.status !== 'acknowledged') {
        escalation = await this.repository.updateEscalation(
          tx,
          escalation.escalationId,
          { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: input.acknowledgedBy },
          now,
        );
        entries.push({
          event: auditEvent({
            streamId: escalationStream(escalation.escalationId),
            eventType: 'escalation.acknowledged',
            action: 'U',
            actor,
            patientId: escalation.patientId,
            data: {
              status: 'acknowledged',
              acknowledgedAt: now.toISOString(),
              acknowledgedBy: input.acknowledgedBy,
              acknowledgedNotificationId: id,
            },
            occurredAt: now,
          }),
        });
      }
      entries.push({
        event: operationLog({
          operation: 'notification.acknowledged',
          message: `Notification ${id} acknowledged by ${input.acknowledgedBy}`,
          context: {
            notificationId: id,
            escalationId: acknowledged.escalationId,
            level: acknowledged.level,
            patientId: acknowledged.patientId,
            ward: escalation?.ward,
            painScore: escalation?.score,
          },
          startedAt,
        }),
      });
      await this.outbox.enqueueAll(
        tx,
        entries.map((e) => ({ ...e, options: { correlationId: input.correlationId } })),
      );
      return { notification: acknowledged, escalation };
    });
  }

  /**
   * Records the level's notification, its deadline, its audit and log events (with `entries`), and
   * sends it last, so that a failed send rolls all of it back.
   */
  private async notifyLevel(
    tx: SqlExecutor,
    escalation: Escalation,
    level: number,
    channel: NotificationChannel,
    sourceEventId: string,
    entries: OutboxEntry[],
    startedAt: number,
  ): Promise<void> {
    const sentAt = new Date();
    const next = this.settings.escalationChain[level];
    const lastLevel = level >= this.settings.maxLevel;
    const ackSeconds = Math.round(this.settings.ackTimeoutMs / 100) / 10;
    const priority = this.priorityAt(escalation.severity, level);
    const fresh: NewNotification = {
      id: escalationNotificationId(escalation.escalationId, level),
      kind: 'escalation',
      escalationId: escalation.escalationId,
      level,
      recipient: this.settings.escalationChain[level - 1],
      channel: channel.name,
      subject:
        `Pain escalation (${escalation.severity}) for patient ${escalation.patientId}` +
        (level > 1 ? `, level ${level}: not acknowledged at level ${level - 1}` : ''),
      body:
        `Pain score ${escalation.score}/10` +
        (escalation.previousScore !== null ? ` (previously ${escalation.previousScore})` : '') +
        `; reasons: ${escalation.reasons.join(', ')}` +
        (escalation.ward ? `; ward ${escalation.ward}` : '') +
        `. Acknowledge within ${ackSeconds} s` +
        (lastLevel ? '; this is the last level.' : `, or it escalates to ${next}.`),
      priority,
      patientId: escalation.patientId,
      sentAt,
      sourceEventId,
    };
    const notification = await this.repository.insertNotification(tx, fresh);
    const deadline = Object.assign(new EscalationAckDueEvent(), {
      escalationId: escalation.escalationId,
      level,
      notificationId: notification.id,
      dueAt: new Date(sentAt.getTime() + this.settings.ackTimeoutMs),
    });
    await this.outbox.enqueueAll(tx, [
      ...entries,
      ...this.sentRecords(notification, startedAt, escalation),
      { event: deadline, options: { delayMs: this.settings.ackTimeoutMs } },
    ]);
    await this.deliver(channel, notification);
  }

  private async exhaust(
    tx: SqlExecutor,
    escalation: Escalation,
    current: Notification | undefined,
    now: Date,
    startedAt: number,
  ): Promise<void> {
    const entries: OutboxEntry[] = [];
    if (current) {
      await this.repository.setNotificationStatus(tx, current.id, 'exhausted');
      entries.push({
        event: auditEvent({
          streamId: notificationStream(current.id),
          eventType: 'notification.exhausted',
          action: 'U',
          actor: SYSTEM_ACTOR,
          patientId: current.patientId,
          data: { status: 'exhausted' },
          occurredAt: now,
        }),
      });
    }
    const exhausted = await this.repository.updateEscalation(
      tx,
      escalation.escalationId,
      { status: 'exhausted', exhaustedAt: now },
      now,
    );
    entries.push(
      {
        event: auditEvent({
          streamId: escalationStream(exhausted.escalationId),
          eventType: 'escalation.exhausted',
          action: 'U',
          actor: SYSTEM_ACTOR,
          patientId: exhausted.patientId,
          data: { status: 'exhausted', exhaustedAt: now.toISOString() },
          occurredAt: now,
        }),
      },
      {
        event: operationLog({
          level: 'error',
          operation: 'escalation.exhausted',
          message: `Escalation ${exhausted.escalationId} was not acknowledged at any of its ${exhausted.currentLevel} levels`,
          context: this.escalationContext(exhausted, exhausted.currentLevel),
          startedAt,
        }),
      },
    );
    await this.outbox.enqueueAll(tx, entries);
    this.logger.warn(`Escalation ${exhausted.escalationId} exhausted: nobody acknowledged it`);
  }

  /** The audit and log events of a sent notification. */
  private sentRecords(notification: Notification, startedAt: number, escalation?: Escalation): OutboxEntry[] {
    return [
      {
        event: auditEvent({
          streamId: notificationStream(notification.id),
          eventType: 'notification.sent',
          action: 'C',
          actor: SYSTEM_ACTOR,
          patientId: notification.patientId,
          data: createdState(notification),
          occurredAt: notification.sentAt,
        }),
      },
      {
        event: operationLog({
          operation: 'notification.sent',
          message: `Notification ${notification.id} sent to ${notification.recipient} via ${notification.channel}`,
          context: {
            notificationId: notification.id,
            kind: notification.kind,
            recipient: notification.recipient,
            channel: notification.channel,
            priority: notification.priority,
            ...(escalation
              ? this.escalationContext(escalation, notification.level ?? 1)
              : { patientId: notification.patientId }),
          },
          startedAt,
        }),
      },
    ];
  }

  private escalationContext(escalation: Escalation, level: number): Record<string, unknown> {
    return {
      escalationId: escalation.escalationId,
      level,
      severity: escalation.severity,
      patientId: escalation.patientId,
      ward: escalation.ward,
      painScore: escalation.score,
    };
  }

  /** Each level past the first is one step more urgent, up to critical. */
  private priorityAt(severity: string, level: number): NotificationPriority {
    const base = NOTIFICATION_PRIORITIES.indexOf(SEVERITY_PRIORITY[severity] ?? 'high');
    return NOTIFICATION_PRIORITIES[Math.min(NOTIFICATION_PRIORITIES.length - 1, base + level - 1)];
  }

  private async deliver(channel: NotificationChannel, notification: Notification): Promise<void> {
    await channel.send({
      id: notification.id,
      kind: notification.kind,
      escalationId: notification.escalationId,
      level: notification.level,
      recipient: notification.recipient,
      subject: notification.subject,
      body: notification.body,
      priority: notification.priority,
      patientId: notification.patientId,
      sentAt: notification.sentAt,
    });
  }
}
