import { Logger } from '@nestjs/common';
import { KafkaAdminPort, TopicSpec } from '../client/kafka-client.port';
import { expandDeclarations, TopicDeclaration } from './topic-declaration';

export interface ProvisionReport {
  created: string[];
  grown: string[];
  existing: string[];
}

/**
 * Makes the broker match the declarations, idempotently: creates missing topics and grows partition
 * counts that are too small (as Spring's KafkaAdmin does). It never shrinks a topic, which Kafka
 * cannot do; a larger existing count is reported, since it changes key-to-partition mapping.
 */
export async function provisionTopics(
  admin: KafkaAdminPort,
  declarations: readonly TopicDeclaration[],
  defaultReplicationFactor: number,
  readyTimeoutMs = 30_000,
  logger = new Logger('TopicProvisioner'),
): Promise<ProvisionReport> {
  const wanted = expandDeclarations(declarations);
  const counts = await admin.partitionCounts(wanted.map((t) => t.name));
  const report: ProvisionReport = { created: [], grown: [], existing: [] };

  const missing: TopicSpec[] = [];
  for (const topic of wanted) {
    const current = counts.get(topic.name);
    if (current === undefined) {
      const replicationFactor = topic.replicationFactor ?? defaultReplicationFactor;
      missing.push({
        name: topic.name,
        partitions: topic.partitions,
        replicationFactor,
        // With replicas to spare, acks=all must mean "written to at least two".
        configs: { ...(replicationFactor >= 3 ? { 'min.insync.replicas': '2' } : {}), ...topic.configs },
      });
    } else if (current < topic.partitions) {
      await admin.addPartitions(topic.name, topic.partitions);
      report.grown.push(topic.name);
    } else {
      if (current > topic.partitions) {
        logger.warn(
          `Topic ${topic.name} has ${current} partitions, declared ${topic.partitions}; left as is`,
        );
      }
      report.existing.push(topic.name);
    }
  }
  if (missing.length > 0) {
    await admin.createTopics(missing);
    report.created.push(...missing.map((t) => t.name));
  }
  await admin.awaitTopicsReady(
    wanted.map((t) => t.name),
    readyTimeoutMs,
  );
  return report;
}
