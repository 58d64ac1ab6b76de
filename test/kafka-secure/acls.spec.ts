import { AclBinding } from '../support/acl-binding';
import { expandDeclarations } from '@app/kafka-core';
import { TOPIC_TABLE, topicsOfService } from '@app/contracts';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const acls = require('../../scripts/kafka/acls');

type Binding = AclBinding;

const table = { topics: TOPIC_TABLE };
const bindings: Binding[] = acls.deriveAcls(table);
const services: string[] = acls.serviceNames(table);
const of = (service: string) => bindings.filter((b) => b.principal === `User:${service}`);
const short = (b: Binding) => `${b.resourceType} ${b.patternType} ${b.name} ${b.operation}`;

describe('ACLs derived from the topic table', () => {
  it('names the four services', () => {
    expect(services.sort()).toEqual(
      ['analytics-service', 'logging-service', 'monolith', 'notification-service'].sort(),
    );
  });

  it('lets analytics-service read analytics-events, retry it, dead-letter it, and use its own groups; nothing else', () => {
    expect(of('analytics-service').map(short).sort()).toEqual(
      [
        'GROUP PREFIXED analytics-service DESCRIBE',
        'GROUP PREFIXED analytics-service READ',
        'TOPIC LITERAL analytics-events DESCRIBE',
        'TOPIC LITERAL analytics-events DESCRIBE_CONFIGS',
        'TOPIC LITERAL analytics-events READ',
        'TOPIC LITERAL analytics-events-dlq DESCRIBE',
        'TOPIC LITERAL analytics-events-dlq WRITE',
        'TOPIC LITERAL analytics-events-retry DESCRIBE',
        'TOPIC LITERAL analytics-events-retry READ',
        'TOPIC LITERAL analytics-events-retry WRITE',
      ].sort(),
    );
    expect(of('analytics-service').every((b) => b.permission === 'ALLOW' && b.host === '*')).toBe(true);
  });

  it('gives write on a table topic only to the services that produce it', () => {
    for (const [topic, row] of Object.entries(TOPIC_TABLE)) {
      const writers = bindings
        .filter((b) => b.resourceType === 'TOPIC' && b.name === topic && b.operation === 'WRITE')
        .map((b) => b.principal.replace('User:', ''));
      expect(writers.sort()).toEqual([...row.producers].sort());
    }
  });

  it('gives write on a retry or dead-letter topic only to the consumers of its topic', () => {
    for (const [topic, row] of Object.entries(TOPIC_TABLE)) {
      for (const derived of [`${topic}-retry`, `${topic}-dlq`]) {
        const writers = bindings
          .filter((b) => b.name === derived && b.operation === 'WRITE')
          .map((b) => b.principal.replace('User:', ''));
        expect(writers.sort()).toEqual([...row.consumers].sort());
      }
    }
  });

  it('grants no create, alter, delete or cluster rights to any service', () => {
    const operations = new Set(bindings.map((b) => b.operation));
    expect([...operations].sort()).toEqual(['DESCRIBE', 'DESCRIBE_CONFIGS', 'READ', 'WRITE']);
    expect(bindings.filter((b) => !['TOPIC', 'GROUP'].includes(b.resourceType))).toEqual([]);
  });

  it('lets every service describe each topic it declares, so its startup finds them provisioned', () => {
    for (const service of services) {
      const describable = new Set(
        of(service)
          .filter((b) => b.resourceType === 'TOPIC' && b.operation === 'DESCRIBE')
          .map((b) => b.name),
      );
      for (const declared of expandDeclarations(topicsOfService(service))) {
        expect({ service, topic: declared.name, describable: describable.has(declared.name) }).toEqual({
          service,
          topic: declared.name,
          describable: true,
        });
      }
    }
  });

  it('provisions exactly the topics the services declare, with their partitions and retention', () => {
    const declared = new Map(
      services.flatMap((s) => expandDeclarations(topicsOfService(s))).map((d) => [d.name, d]),
    );
    const specs: { name: string; partitions: number; configs: Record<string, string> }[] = acls.topicSpecs(
      table,
      1,
    );
    expect(specs.map((s) => s.name).sort()).toEqual([...declared.keys()].sort());
    for (const spec of specs) {
      const d = declared.get(spec.name)!;
      expect({ name: spec.name, partitions: spec.partitions, configs: spec.configs }).toEqual({
        name: d.name,
        partitions: d.partitions,
        configs: d.configs ?? {},
      });
    }
  });
});
