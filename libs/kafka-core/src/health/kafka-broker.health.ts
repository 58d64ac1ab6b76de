import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { KAFKA_CLIENT, KafkaAdminPort, KafkaClientPort } from '../client/kafka-client.port';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KAFKA_CORE_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { withTimeout } from '../monitoring/with-timeout';

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
    const brokers = await this.probe();
    // Status only: broker addresses and error text stay out of the public body.
    return brokers === undefined ? indicator.down({ reason: 'unreachable' }) : indicator.up({ brokers });
  }

  /** Whether the broker answers now (the connectivity metric). */
  async reachable(): Promise<boolean> {
    return (await this.probe()) !== undefined;
  }

  /** Brokers in the cluster, or undefined when it did not answer in time. */
  private async probe(): Promise<number | undefined> {
    const timeoutMs = this.options.healthTimeoutMs ?? KAFKA_CORE_DEFAULTS.healthTimeoutMs;
    try {
      this.admin ??= this.client.admin();
      const admin = this.admin;
      const cluster = await withTimeout(
        admin.connect().then(() => admin.describeCluster()),
        timeoutMs,
      );
      return cluster.brokers;
    } catch {
      // A fresh admin next time: a broken connection must not stick across probes.
      const stale = this.admin;
      this.admin = undefined;
      void stale?.disconnect().catch(() => undefined);
      return undefined;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.admin?.disconnect().catch(() => undefined);
  }
}
