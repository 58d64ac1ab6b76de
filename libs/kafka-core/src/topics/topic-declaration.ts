import { deadLetterTopicName, retryTopicName } from '../kafka-core.constants';

/** Spring's `NewTopic` analogue: what a topic must look like, provisioned idempotently at startup. */
export interface TopicDeclaration {
  name: string;
  partitions: number;
  /** Falls back to the module's replication factor. */
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ 'retention.ms': '604800000' }`. */
  configs?: Record<string, string>;
  /**
   * Declares the derived retry and dead-letter topics with the same partition count, so a record
   * keeps its partition (and therefore its key order) when it moves there.
   */
  consumed?: boolean;
}

/** The declaration plus its derived retry and dead-letter topics. */
export function expandDeclarations(declarations: readonly TopicDeclaration[]): TopicDeclaration[] {
  const expanded = new Map<string, TopicDeclaration>();
  for (const declaration of declarations) {
    if (!Number.isInteger(declaration.partitions) || declaration.partitions < 1) {
      throw new Error(`Topic "${declaration.name}": partitions must be a positive integer`);
    }
    expanded.set(declaration.name, { ...declaration, consumed: undefined });
    if (declaration.consumed) {
      for (const derived of [retryTopicName(declaration.name), deadLetterTopicName(declaration.name)]) {
        expanded.set(derived, {
          name: derived,
          partitions: declaration.partitions,
          replicationFactor: declaration.replicationFactor,
          configs: declaration.configs,
        });
      }
    }
  }
  return [...expanded.values()];
}
