import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KAFKA_CLIENT, KafkaAdminPort, KafkaClientPort } from '../client/kafka-client.port';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KAFKA_CORE_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { KafkaAuthenticationError } from '../errors/kafka-access.errors';
import { withTimeout } from '../monitoring/with-timeout';

type Probe = { brokers: number } | { down: 'unreachable' | KafkaAuthenticationError['reason'] };

/** Broker connectivity: an admin describe-cluster that must answer within the health timeout. */
@Injectable()
export class KafkaBrokerHealthIndicator implements OnApplicationShutdown {
  private admin?: KafkaAdminPort;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
  ) {}

  async isHealthy(key = 'kafka') {
    const indicator = this.health.check(key);
    const probe = await this.probe();
    // Status only: broker addresses, principals and error text stay out of the public body.
    return 'down' in probe
      ? indicator.down({ reason: probe.down })
      : indicator.up({ brokers: probe.brokers });
  }

  /** Whether the broker answers now (the connectivity metric). */
  async reachable(): Promise<boolean> {
    return !('down' in (await this.probe()));
  }

  /** Brokers in the cluster, or why it did not answer in time. */
  private async probe(): Promise<Probe> {
    const timeoutMs = this.options.healthTimeoutMs ?? KAFKA_CORE_DEFAULTS.healthTimeoutMs;
    try {
      this.admin ??= this.client.admin();
      const admin = this.admin;
      const cluster = await withTimeout(
        admin.connect().then(() => admin.describeCluster()),
        timeoutMs,
      );
      return { brokers: cluster.brokers };
    } catch (error) {
      // A fresh admin next time: a broken connection must not stick across probes.
      const stale = this.admin;
      this.admin = undefined;
      void stale?.disconnect().catch(() => undefined);
      return { down: error instanceof KafkaAuthenticationError ? error.reason : 'unreachable' };
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }
}
