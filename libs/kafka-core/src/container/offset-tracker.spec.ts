import { OffsetTracker, PartitionOffsetTracker } from './offset-tracker';

function trackAll(tracker: PartitionOffsetTracker, offsets: number[]): void {
  for (const offset of offsets) tracker.track(BigInt(offset));
}

describe('PartitionOffsetTracker', () => {
  it('has nothing to commit before anything completes', () => {
    const tracker = new PartitionOffsetTracker(0n);
    expect(tracker.committable()).toBeUndefined();
    trackAll(tracker, [0, 1, 2]);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.hasUncommitted()).toBe(false);
    expect(tracker.inFlight).toBe(3);
  });

  it('moves one past each offset completed in order', () => {
    const tracker = new PartitionOffsetTracker();
    trackAll(tracker, [0, 1, 2]);
    tracker.complete(0n);
    expect(tracker.committable()).toBe(1n);
    tracker.complete(1n);
    expect(tracker.committable()).toBe(2n);
    tracker.complete(2n);
    expect(tracker.committable()).toBe(3n);
    expect(tracker.inFlight).toBe(0);
    expect(tracker.pending()).toEqual([]);
  });

  it('never commits past an unfinished record when acks arrive out of order', () => {
    const tracker = new PartitionOffsetTracker(0n);
    trackAll(tracker, [0, 1, 2, 3]);
    expect(tracker.complete(1n)).toBe(true);
    expect(tracker.complete(3n)).toBe(true);
    expect(tracker.committable()).toBe(0n);
    expect(tracker.pending()).toEqual([0n, 2n]);
    expect(tracker.complete(0n)).toBe(true);
    expect(tracker.committable()).toBe(2n);
    expect(tracker.complete(2n)).toBe(true);
    expect(tracker.committable()).toBe(4n);
  });

  it('lets only tracked offsets block: gaps from compaction or transaction markers do not', () => {
    const tracker = new PartitionOffsetTracker(5n);
    trackAll(tracker, [5, 7]);
    tracker.complete(7n);
    expect(tracker.committable()).toBe(5n);
    tracker.complete(5n);
    expect(tracker.committable()).toBe(8n);

    trackAll(tracker, [20, 30]);
    expect(tracker.committable()).toBe(20n);
    tracker.complete(30n);
    expect(tracker.committable()).toBe(20n);
    tracker.complete(20n);
    expect(tracker.committable()).toBe(31n);
  });

  it('ignores unknown and already-completed offsets', () => {
    const tracker = new PartitionOffsetTracker();
    trackAll(tracker, [10, 11]);
    expect(tracker.complete(9n)).toBe(false);
    expect(tracker.complete(12n)).toBe(false);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.complete(10n)).toBe(true);
    expect(tracker.complete(10n)).toBe(false);
    expect(tracker.committable()).toBe(11n);
    expect(tracker.inFlight).toBe(1);
  });

  it('refuses offsets that do not increase', () => {
    const tracker = new PartitionOffsetTracker();
    trackAll(tracker, [3, 4]);
    tracker.complete(3n);
    tracker.complete(4n);
    expect(() => tracker.track(4n)).toThrow(RangeError);
    expect(() => tracker.track(1n)).toThrow(RangeError);
    expect(tracker.inFlight).toBe(0);
    expect(tracker.committable()).toBe(5n);
  });

  it('reports uncommitted progress relative to the last recorded commit', () => {
    const tracker = new PartitionOffsetTracker(0n);
    trackAll(tracker, [0, 1, 2]);
    tracker.complete(1n);
    // Committable is still 0, the initial position.
    expect(tracker.hasUncommitted()).toBe(false);
    tracker.complete(0n);
    expect(tracker.hasUncommitted()).toBe(true);
    tracker.markCommitted(2n);
    expect(tracker.hasUncommitted()).toBe(false);
    tracker.complete(2n);
    expect(tracker.hasUncommitted()).toBe(true);
    tracker.markCommitted(3n);
    expect(tracker.hasUncommitted()).toBe(false);
  });

  it('without an initial position, any completed progress is uncommitted', () => {
    const tracker = new PartitionOffsetTracker();
    tracker.track(7n);
    tracker.track(8n);
    tracker.complete(8n);
    expect(tracker.committable()).toBe(7n);
    expect(tracker.hasUncommitted()).toBe(true);
  });

  it('reports when the oldest pending offset was tracked', () => {
    let now = 1000;
    const tracker = new PartitionOffsetTracker(0n, () => now);
    expect(tracker.oldestPending()?.since).toBeUndefined();
    tracker.track(0n);
    now = 2000;
    tracker.track(1n);
    now = 3000;
    tracker.track(2n);
    expect(tracker.oldestPending()?.since).toBe(1000);
    tracker.complete(1n);
    expect(tracker.oldestPending()?.since).toBe(1000);
    tracker.complete(0n);
    expect(tracker.oldestPending()?.since).toBe(3000);
    tracker.complete(2n);
    expect(tracker.oldestPending()?.since).toBeUndefined();
  });

  it('forgets everything on reset and accepts earlier offsets again', () => {
    const tracker = new PartitionOffsetTracker(0n);
    trackAll(tracker, [0, 1, 2, 3]);
    tracker.complete(0n);
    tracker.complete(1n);
    tracker.reset(1n);
    expect(tracker.committable()).toBeUndefined();
    expect(tracker.hasUncommitted()).toBe(false);
    expect(tracker.inFlight).toBe(0);
    expect(tracker.pending()).toEqual([]);
    expect(tracker.oldestPending()?.since).toBeUndefined();
    expect(tracker.complete(2n)).toBe(false);

    trackAll(tracker, [1, 2]);
    tracker.complete(1n);
    expect(tracker.committable()).toBe(2n);
    expect(tracker.hasUncommitted()).toBe(true);
  });

  it('tracks and completes 100k offsets out of order, the position following every pair', () => {
    const tracker = new PartitionOffsetTracker(0n);
    const n = 100_000;
    // Its speed is the listener benchmarks' business (B1, B2); a timed assertion fails on a busy machine.
    for (let i = 0; i < n; i++) tracker.track(BigInt(i));
    // Complete each pair in reverse order so the head waits once per pair.
    for (let i = 0; i < n; i += 2) {
      tracker.complete(BigInt(i + 1));
      tracker.complete(BigInt(i));
      if (i % 10_000 === 0) expect(tracker.committable()).toBe(BigInt(i + 2));
    }
    expect(tracker.committable()).toBe(BigInt(n));
    expect(tracker.inFlight).toBe(0);
  });

  it('holds the position at the oldest pending offset across compaction of the tracked offsets', () => {
    const tracker = new PartitionOffsetTracker(0n);
    trackAll(
      tracker,
      Array.from({ length: 5000 }, (_, i) => i),
    );
    for (let i = 1; i < 5000; i++) tracker.complete(BigInt(i));
    expect(tracker.committable()).toBe(0n);
    expect(tracker.pending()).toEqual([0n]);
    tracker.complete(0n);
    expect(tracker.committable()).toBe(5000n);
    trackAll(tracker, [5000, 5001]);
    tracker.complete(5001n);
    expect(tracker.committable()).toBe(5000n);
    expect(() => tracker.track(4999n)).toThrow(RangeError);
  });
});

describe('OffsetTracker', () => {
  it('keeps one tracker per topic-partition', () => {
    const offsets = new OffsetTracker();
    const a0 = offsets.forPartition('a', 0);
    expect(offsets.forPartition('a', 0)).toBe(a0);
    expect(offsets.forPartition('a', 1)).not.toBe(a0);
    expect(offsets.forPartition('b', 0)).not.toBe(a0);
  });

  it('lists only partitions with uncommitted progress, and forgets them once committed', () => {
    const offsets = new OffsetTracker();
    const a0 = offsets.forPartition('a', 0, 10n);
    const a1 = offsets.forPartition('a', 1, 0n);
    const b0 = offsets.forPartition('b', 0, 0n);
    trackAll(a0, [10, 11]);
    trackAll(a1, [0, 1]);
    trackAll(b0, [0]);
    a0.complete(10n);
    a1.complete(1n);
    b0.complete(0n);
    const committable = offsets.committableOffsets();
    expect(committable).toEqual([
      { topic: 'a', partition: 0, offset: '11' },
      { topic: 'b', partition: 0, offset: '1' },
    ]);

    offsets.markCommitted(committable);
    expect(offsets.committableOffsets()).toEqual([]);
    a1.complete(0n);
    expect(offsets.committableOffsets()).toEqual([{ topic: 'a', partition: 1, offset: '2' }]);
  });

  it('skips commits for partitions revoked meanwhile', () => {
    const offsets = new OffsetTracker();
    offsets.forPartition('a', 0, 0n).track(0n);
    offsets.revoke('a', 0);
    expect(() => offsets.markCommitted([{ topic: 'a', partition: 0, offset: '1' }])).not.toThrow();
    expect(offsets.committableOffsets()).toEqual([]);
  });

  it('drops a revoked partition and starts it afresh when reassigned', () => {
    const offsets = new OffsetTracker();
    const a0 = offsets.forPartition('a', 0, 0n);
    trackAll(a0, [0, 1, 2]);
    a0.complete(0n);
    offsets.revoke('a', 0);
    expect(offsets.committableOffsets()).toEqual([]);
    expect(offsets.totalInFlight).toBe(0);
    const again = offsets.forPartition('a', 0, 1n);
    expect(again).not.toBe(a0);
    expect(again.inFlight).toBe(0);
    again.track(1n);
    again.complete(1n);
    expect(offsets.committableOffsets()).toEqual([{ topic: 'a', partition: 0, offset: '2' }]);
  });

  it('sums in-flight records across partitions', () => {
    const offsets = new OffsetTracker();
    trackAll(offsets.forPartition('a', 0), [0, 1, 2]);
    trackAll(offsets.forPartition('a', 1), [5]);
    expect(offsets.totalInFlight).toBe(4);
    offsets.forPartition('a', 0).complete(1n);
    expect(offsets.totalInFlight).toBe(3);
  });

  it('passes its clock to the partition trackers', () => {
    const offsets = new OffsetTracker(() => 42);
    const a0 = offsets.forPartition('a', 0);
    a0.track(0n);
    expect(a0.oldestPending()?.since).toBe(42);
  });
});
