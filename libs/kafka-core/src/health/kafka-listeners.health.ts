import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KafkaListenerRegistry } from '../container/listener-registry';
import { ListenerStatus } from '../container/listener-status';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { HEALTH_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';

export type ListenerHealth =
  | { state: string; status: 'up'; partitions: number; inFlight: number; idle?: true }
  | {
      state: string;
      status: 'down';
      reason: 'not-joined' | 'stuck' | 'failed';
      stuck?: { topic: string; partition: number; offset: string; forMs: number };
    };

/** One listener's health: joined and assigned (or idle by design), and no record stuck in it. */
export function listenerHealth(
  status: ListenerStatus,
  now: number,
  limits: { stuckAfterMs: number; joinTimeoutMs: number },
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
  return { state: status.state, status: 'up', partitions, inFlight: status.inFlight, ...idle };
}

/**
 * Listeners: each running listener has joined its group and holds partitions (or is idle by design),
 * and none has a record received but unfinished for longer than `health.stuckAfterMs`. Stopped
 * listeners (autoStartup false, or stopped through the registry) are reported, not failed.
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
    const healthy = Object.values(listeners).every((l) => l.status === 'up');
    return healthy ? indicator.up({ listeners }) : indicator.down({ listeners });
  }
}
