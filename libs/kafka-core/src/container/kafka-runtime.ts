import { DiscoveryService } from '@nestjs/core';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import {
  isRetriable,
  KAFKA_CLIENT,
  KafkaAdminPort,
  KafkaClientPort,
  OutgoingRecord,
} from '../client/kafka-client.port';
import { ListenerConfigurationError, ListenerDefinition } from '../discovery/listener-definition';
import { ListenerExplorer } from '../discovery/listener-explorer';
import { deadLetterTopicName, retryTopicName } from '../kafka-core.constants';
import { MODULE_OPTIONS_TOKEN } from '../kafka-core.module-definition';
import { KAFKA_CORE_DEFAULTS, KafkaCoreModuleOptions } from '../kafka-core.options';
import { deadLetterMiddleware } from '../pipeline/dead-letter.middleware';
import { deserializeMiddleware } from '../pipeline/deserialize.middleware';
import { inboxMiddleware } from '../inbox/inbox.middleware';
import { OUTBOX_RELAY_DEFAULTS } from '../outbox/outbox-relay.options';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { KafkaOutbox } from '../outbox/kafka-outbox';
import { MetricsHooks } from '../metrics/metrics-hooks';
import { anyProviderHolds } from '../context/publishing-providers';
import { invokeHandler, invokeHandlerInScope } from '../pipeline/invoke-handler';
import { compose, Handler, InboundMessage } from '../pipeline/pipeline';
import { retryMiddleware } from '../pipeline/retry.middleware';
import { retryTopicMiddleware } from '../pipeline/retry-topic.middleware';
import { timeoutMiddleware } from '../pipeline/timeout.middleware';
import { KafkaPublisher } from '../producer/kafka-publisher';
import { TopicDeclaration } from '../topics/topic-declaration';
import { ProvisionReport, provisionTopics } from '../topics/topic-provisioner';
import { ListenerContainer } from './listener-container';
import { KafkaListenerRegistry } from './listener-registry';
import { waitForBroker } from './wait-for-broker';
import { describeSecurity } from '../client/security/kafka-security';

/**
 * Startup and shutdown of everything Kafka: read the listeners (bad configuration fails here), wait
 * for the broker, provision topics (declared ones, and each listener's dead-letter topic), start one
 * container per listener; on shutdown stop them before the publisher disconnects.
 */
@Injectable()
export class KafkaRuntime implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KafkaCore');

  constructor(
    @Inject(KAFKA_CLIENT) private readonly client: KafkaClientPort,
    @Inject(MODULE_OPTIONS_TOKEN) private readonly options: KafkaCoreModuleOptions,
    private readonly explorer: ListenerExplorer,
    private readonly publisher: KafkaPublisher,
    private readonly registry: KafkaListenerRegistry,
    private readonly outbox: OutboxRelayService,
    private readonly discovery: DiscoveryService,
    private readonly outboxWriter: KafkaOutbox,
    private readonly hooks: MetricsHooks,
  ) {}

  /** Explicit option, else on exactly when some provider of the application can publish. */
  private propagateContext(): boolean {
    return (
      this.options.propagateContext ??
      anyProviderHolds(
        this.discovery,
        [this.publisher, this.outboxWriter],
        [KafkaRuntime, OutboxRelayService],
      )
    );
  }

  async onApplicationBootstrap(): Promise<void> {
    let definitions = this.explorer.explore();
    for (const definition of definitions) {
      if (definition.inbox && !this.options.database) {
        throw new ListenerConfigurationError(definition.id, [
          '"inbox" needs a database: set "database" in the KafkaCoreModule options',
        ]);
      }
    }
    const admin = this.client.admin();
    const { brokers, security } = this.options;
    this.logger.log(`Connecting to Kafka at ${brokers.join(',')} over ${describeSecurity(security)}`);
    try {
      await waitForBroker(
        admin,
        brokers,
        this.options.startupTimeoutMs ?? KAFKA_CORE_DEFAULTS.startupTimeoutMs,
        (error, delay) =>
          this.logger.warn(`Waiting for Kafka (${(error as Error).message}); retry in ${delay} ms`),
      );
      const report = await this.provision(admin, this.options.topics ?? []);
      definitions = await this.resolvePatterns(admin, definitions);
      const derived = await this.provision(admin, await this.derivedDeclarations(admin, definitions));
      const created = [...report.created, ...derived.created];
      if (created.length > 0) this.logger.log(`Created topics: ${created.join(', ')}`);
      await this.checkInboxRetention(admin, definitions);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }

    const invoke = this.propagateContext() ? invokeHandlerInScope : invokeHandler;
    const deadLetter = deadLetterMiddleware(this.publishDeadLetter, this.options.deadLetter);
    const settings = {
      shutdownTimeoutMs: this.options.shutdownTimeoutMs ?? KAFKA_CORE_DEFAULTS.shutdownTimeoutMs,
      recoveryDelayMs: 1_000,
      observer: this.hooks.listener,
      deadLetter: (message: InboundMessage, error: Error) => deadLetter(() => Promise.reject(error))(message),
    };
    const started: ListenerContainer[] = [];
    try {
      for (const definition of definitions) {
        const container = new ListenerContainer(definition, this.client, this.pipeline(definition, invoke), {
          ...settings,
          batchPipeline: definition.batch ? this.pipeline(definition, invoke, false) : undefined,
        });
        this.registry.register(container);
        if (!definition.autoStartup) continue;
        started.push(container);
        await container.start();
        this.logger.log(
          `Listener ${definition.id} consuming ${definition.topics.join(', ') || definition.topicPattern} as ${definition.groupId}`,
        );
      }
    } catch (error) {
      // The application will not start: listeners already consuming leave their groups now, not at exit.
      await Promise.all(started.map((container) => container.stop().catch(() => undefined)));
      throw error;
    }
    this.outbox.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([this.outbox.stop(), ...this.registry.all().map((container) => container.stop())]);
  }

  /**
   * An inbox forgets an event id after its retention; a redelivery after that would be handled again.
   * Records can only come back while the topic keeps them, so the inbox must keep ids longer.
   */
  private async checkInboxRetention(admin: KafkaAdminPort, definitions: ListenerDefinition[]): Promise<void> {
    const topics = [...new Set(definitions.filter((d) => d.inbox).flatMap((d) => d.topics))];
    if (topics.length === 0) return;
    const inboxMs = this.options.outbox?.inboxRetentionMs ?? OUTBOX_RELAY_DEFAULTS.inboxRetentionMs;
    const retention = await admin.retentionMs(topics).catch(() => new Map<string, number>());
    for (const [topic, topicMs] of retention) {
      if (topicMs < 0 || topicMs >= inboxMs) {
        this.logger.warn(
          `Inbox retention (${inboxMs} ms) is not longer than ${topic}'s retention (${topicMs < 0 ? 'forever' : `${topicMs} ms`}): ` +
            'a record replayed after its inbox row is pruned would be handled again; raise outbox.inboxRetentionMs',
        );
      }
    }
  }

  /** First runs outermost: final failures reach the dead letter; retry decides what is final. */
  private readonly publishDeadLetter = async (topic: string, record: OutgoingRecord): Promise<void> => {
    await this.publisher.sendRecords(topic, [record]);
  };

  /**
   * A `topicPattern` is matched here, once, against the topics that exist, leaving out derived retry
   * and dead-letter topics (a pattern like /^orders-/ would otherwise consume its own dead letters).
   * Topics created later are not picked up until the listener restarts, as with kafkajs' own regex.
   */
  private async resolvePatterns(
    admin: KafkaAdminPort,
    definitions: ListenerDefinition[],
  ): Promise<ListenerDefinition[]> {
    if (!definitions.some((d) => d.topicPattern)) return definitions;
    const names = await admin.topicNames();
    const derived = new Set(names.flatMap((name) => [retryTopicName(name), deadLetterTopicName(name)]));
    return definitions.map((definition) => {
      const pattern = definition.topicPattern;
      if (!pattern) return definition;
      const topics = names
        .filter((name) => pattern.test(name) && !derived.has(name) && !name.startsWith('__'))
        .sort();
      if (topics.length === 0) {
        throw new Error(
          `@KafkaListener ${definition.id}: no topic matches ${pattern} (existing: ${names.length})`,
        );
      }
      return { ...definition, topics };
    });
  }

  /**
   * Only the steps a listener uses: every layer is an extra async frame on every record. Batch
   * listeners' dispatcher disposes of failed records itself, one by one, through `deadLetter`.
   */
  private pipeline(definition: ListenerDefinition, invoke: Handler, withDeadLetter = true): Handler {
    return compose(
      [
        ...(withDeadLetter ? [deadLetterMiddleware(this.publishDeadLetter, this.options.deadLetter)] : []),
        definition.retryTopics ? retryTopicMiddleware(this.publishDeadLetter) : retryMiddleware,
        deserializeMiddleware,
        // Outside the inbox: a timed-out attempt's transaction finishes on its own, and the retry
        // waits on its inbox row until then.
        ...(definition.handlerTimeoutMs ? [timeoutMiddleware] : []),
        ...(definition.inbox && this.options.database ? [inboxMiddleware(this.options.database)] : []),
        // Users' own, around the handler: they see the payload and the inbox transaction.
        ...(this.options.middlewares ?? []),
        ...definition.middlewares,
      ],
      invoke,
    );
  }

  /**
   * `<topic>-dlq` and `<topic>-retry` for the listener topics that use them, with the source's
   * partitions, and explicit dead-letter topics that do not exist yet.
   */
  private async derivedDeclarations(
    admin: KafkaAdminPort,
    definitions: ListenerDefinition[],
  ): Promise<TopicDeclaration[]> {
    const dlqSources = definitions.filter((d) => d.deadLetter === undefined).flatMap((d) => d.topics);
    const retrySources = definitions.filter((d) => d.retryTopics).flatMap((d) => d.topics);
    // An explicit dead-letter topic must exist before its first failure, or that failure would wait
    // on the producer's metadata timeout while the partition stalls.
    const explicit = definitions.flatMap((d) =>
      typeof d.deadLetter === 'string' && d.topics.length > 0
        ? [{ name: d.deadLetter, source: d.topics[0] }]
        : [],
    );
    const sources = [...new Set([...dlqSources, ...retrySources, ...explicit.map((e) => e.source)])];
    if (sources.length === 0) return [];
    const counts = await admin.partitionCounts(sources);
    const missing = sources.filter((topic) => !counts.has(topic));
    if (missing.length > 0) {
      throw new Error(
        `Listener topics do not exist: ${missing.join(', ')}. Declare them in KafkaCoreModule "topics".`,
      );
    }
    const derived = (name: (topic: string) => string, topics: string[]) =>
      [...new Set(topics)].map((topic) => ({ name: name(topic), partitions: counts.get(topic) as number }));
    const existingExplicit = await admin.partitionCounts(explicit.map((e) => e.name));
    const missingExplicit = explicit
      .filter((e) => !existingExplicit.has(e.name))
      .map((e) => ({ name: e.name, partitions: counts.get(e.source) as number }));
    return [
      ...derived(deadLetterTopicName, dlqSources),
      ...derived(retryTopicName, retrySources),
      ...missingExplicit,
    ];
  }

  /** Services sharing a fresh broker create the same topics at once; Kafka flags that race retriable. */
  private async provision(
    admin: KafkaAdminPort,
    topics: TopicDeclaration[],
    attempts = 5,
  ): Promise<ProvisionReport> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await provisionTopics(
          admin,
          topics,
          this.options.replicationFactor ?? KAFKA_CORE_DEFAULTS.replicationFactor,
        );
      } catch (error) {
        if (!isRetriable(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }
}
