import { expandDeclarations } from './topic-declaration';

describe('expandDeclarations', () => {
  it('adds retry and dead-letter topics with the same partition count to consumed topics', () => {
    const topics = expandDeclarations([
      {
        name: 'orders',
        partitions: 3,
        consumed: true,
        replicationFactor: 3,
        configs: { 'retention.ms': '1000' },
      },
      { name: 'produced-only', partitions: 2 },
    ]);
    expect(topics.map((t) => [t.name, t.partitions, t.replicationFactor])).toEqual([
      ['orders', 3, 3],
      ['orders-retry', 3, 3],
      ['orders-dlq', 3, 3],
      ['produced-only', 2, undefined],
    ]);
    expect(topics.find((t) => t.name === 'orders-dlq')?.configs).toEqual({ 'retention.ms': '1000' });
  });

  it('declares a topic once when two services declare it', () => {
    const topics = expandDeclarations([
      { name: 'a', partitions: 2, consumed: true },
      { name: 'a', partitions: 2, consumed: true },
    ]);
    expect(topics.map((t) => t.name)).toEqual(['a', 'a-retry', 'a-dlq']);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses %p partitions', (partitions) => {
    expect(() => expandDeclarations([{ name: 'bad', partitions }])).toThrow(
      'Topic "bad": partitions must be a positive integer',
    );
  });
});
