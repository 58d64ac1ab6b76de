import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { ListenerStatus } from '../container/listener-status';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { HEALTH_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';

/**
 * Why a listener that still works needs a look: it dead-lettered recently, waits out an outage, an
 * operator paused it long ago, or its breaker stopped fetching. Durations only: health bodies carry
 * no error texts and no names.
 */
export type DegradedReason =
  | { reason: 'dead-lettered'; agoMs: number }
  | { reason: 'retrying'; forMs: number }
  | { reason: 'paused'; forMs: number }
  | { reason: 'breaker-open' | 'breaker-half-open'; forMs: number };

export type ListenerHealth =
  | {
      state: string;
      status: 'up';
      partitions: number;
      inFlight: number;
      idle?: true;
      /** Still up (readiness keeps the instance), but see `reasons`. */
      degraded?: true;
      reasons?: DegradedReason[];
    }
  | {
      state: string;
      status: 'down';
      reason: 'not-joined' | 'stuck' | 'failed';
      stuck?: { topic: string; partition: number; offset: string; forMs: number };
    };

export interface ListenerHealthLimits {
  stuckAfterMs: number;
  joinTimeoutMs: number;
  retryingDegradedAfterMs: number;
  pausedDegradedAfterMs: number;
  deadLetterWindowMs: number;
}

function degradedReasons(
  status: ListenerStatus,
  now: number,
  limits: ListenerHealthLimits,
): DegradedReason[] {
  const reasons: DegradedReason[] = [];
  const { lastDeadLetterAt, retrying, paused, breaker } = status;
  if (lastDeadLetterAt !== undefined && now - lastDeadLetterAt <= limits.deadLetterWindowMs) {
    reasons.push({ reason: 'dead-lettered', agoMs: now - lastDeadLetterAt });
  }
  if (retrying && now - retrying.since > limits.retryingDegradedAfterMs) {
    reasons.push({ reason: 'retrying', forMs: now - retrying.since });
  }
  if (paused && now - paused.since > limits.pausedDegradedAfterMs) {
    reasons.push({ reason: 'paused', forMs: now - paused.since });
  }
  // An open breaker stops fetching at once: no grace period.
  if (breaker && breaker.state !== 'closed') {
    reasons.push({ reason: `breaker-${breaker.state}`, forMs: now - breaker.since });
  }
  return reasons;
}

/**
 * One listener's health: down when failed, not joined in time or holding a stuck record; otherwise
 * up, and degraded (still up) for the reasons of `degradedReasons`.
 */
export function listenerHealth(
  status: ListenerStatus,
  now: number,
  limits: ListenerHealthLimits,
): ListenerHealth {
  const partitions = Object.values(status.assignment).reduce((sum, ps) => sum + ps.length, 0);
  if (status.state === 'failed') return { state: status.state, status: 'down', reason: 'failed' };
  const consuming = status.state === 'running' || status.state === 'paused';
  if (consuming && status.joinedAt === undefined && now - (status.startedAt ?? now) > limits.joinTimeoutMs) {
    return { state: status.state, status: 'down', reason: 'not-joined' };
  }
  const oldest = status.oldestInFlight;
  if (oldest && now - oldest.since > limits.stuckAfterMs) {
    return {
      state: status.state,
      status: 'down',
      reason: 'stuck',
      stuck: {
        topic: oldest.topic,
        partition: oldest.partition,
        offset: oldest.offset,
        forMs: now - oldest.since,
      },
    };
  }
  // More instances than partitions leave some without an assignment: idle by design, not broken.
  const idle = consuming && status.joinedAt !== undefined && partitions === 0 ? { idle: true as const } : {};
  const reasons = degradedReasons(status, now, limits);
  const degraded = reasons.length > 0 ? { degraded: true as const, reasons } : {};
  return { state: status.state, status: 'up', partitions, inFlight: status.inFlight, ...idle, ...degraded };
}

/**
 * Listeners: each running listener has joined its group and holds partitions (or is idle by design),
 * and none has a record received but unfinished for longer than `health.stuckAfterMs`. Stopped
 * listeners (autoStartup false, or stopped through the registry) are reported, not failed. Terminus
 * knows only up and down, and a dead letter must not take an instance out of readiness: a degraded
 * listener keeps the indicator up with `degraded: true` in its details and the listener's.
 */
@Injectable()
export class KafkaListenersHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly registry: KafkaListenerRegistry,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  isHealthy(key = 'kafka-listeners') {
    const indicator = this.health.check(key);
    const limits = { ...HEALTH_DEFAULTS, ...this.options.health };
    const now = Date.now();
    const listeners = Object.fromEntries(
      this.registry.list().map((status) => [status.id, listenerHealth(status, now, limits)]),
    );
    const all = Object.values(listeners);
    const healthy = all.every((l) => l.status === 'up');
    const degraded = all.some((l) => l.status === 'up' && l.degraded) ? { degraded: true } : {};
    return healthy ? indicator.up({ ...degraded, listeners }) : indicator.down({ ...degraded, listeners });
  }
}
