import { Injectable } from '@nestjs/common';
import { Admin } from 'kafkajs';
import {
  Ack,
  Acknowledgment,
  Ctx,
  KafkaContext,
  KafkaListener,
  KafkaListenerRegistry,
  Payload,
} from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import { committedOffsets, createTopic, produce, startListenerApp } from '../../../test/support/listener-app';
import { eventually } from '../../../test/support/service-app';

describe('ack modes and committed offsets (real broker)', () => {
  let admin: Admin;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('auto: every handled record is committed, exactly up to the end of each partition', async () => {
    const topic = await createTopic(admin, 'auto', 3);
    const groupId = uniqueName('g-auto');
    const seen: string[] = [];

    @Injectable()
    class AutoListener {
      @KafkaListener({ topics: [topic], groupId, fromBeginning: true, concurrency: 3 })
      handle(@Payload() payload: { n: number }) {
        seen.push(String(payload.n));
      }
    }

    await produce(
      topic,
      Array.from({ length: 90 }, (_, n) => ({
        key: `k${n % 9}`,
        value: JSON.stringify({ n }),
        partition: n % 3,
      })),
    );
    const app = await startListenerApp([AutoListener]);
    try {
      await eventually(async () => (seen.length >= 90 ? true : undefined));
      await eventually(async () => {
        const offsets = await committedOffsets(admin, groupId, topic);
        return offsets[0] === 30 && offsets[1] === 30 && offsets[2] === 30 ? offsets : undefined;
      });
      const status = app.app.get(KafkaListenerRegistry).list()[0];
      expect(status.counters.processed).toBe(90);
      // Coalesced: far fewer commit requests than records.
      expect(status.counters.commits).toBeLessThan(30);
    } finally {
      await app.close();
    }
    expect(new Set(seen).size).toBe(90);
  });

  it('manual: out-of-order acknowledgments commit only the contiguous prefix', async () => {
    const topic = await createTopic(admin, 'manual', 1);
    const groupId = uniqueName('g-manual');
    let acks = new Map<number, Acknowledgment>();
    const delivered: { run: number; n: number; offset: string }[] = [];
    let run = 1;

    @Injectable()
    class ManualListener {
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        ackMode: 'manual',
        commitIntervalMs: 100,
      })
      handle(@Payload() payload: { n: number }, @Ack() ack: Acknowledgment, @Ctx() ctx: KafkaContext) {
        delivered.push({ run, n: payload.n, offset: ctx.offset });
        acks.set(payload.n, ack);
      }
    }

    await produce(
      topic,
      Array.from({ length: 5 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    const first = await startListenerApp([ManualListener]);
    try {
      await eventually(async () => (acks.size === 5 ? true : undefined));
      acks.get(1)?.acknowledge();
      acks.get(3)?.acknowledge();
    } finally {
      // Close commits whatever may be committed: with 0 unacknowledged, nothing.
      await first.close();
    }
    expect((await committedOffsets(admin, groupId, topic))[0]).toBe(-1);

    // So the next owner gets every record again.
    run = 2;
    acks = new Map();
    const second = await startListenerApp([ManualListener]);
    try {
      await eventually(async () => (acks.size === 5 ? true : undefined));
      acks.get(1)?.acknowledge();
      acks.get(3)?.acknowledge();
      acks.get(0)?.acknowledge();
      await eventually(async () =>
        (await committedOffsets(admin, groupId, topic))[0] === 2 ? true : undefined,
      );
      acks.get(2)?.acknowledge();
      await eventually(async () =>
        (await committedOffsets(admin, groupId, topic))[0] === 4 ? true : undefined,
      );
    } finally {
      await second.close();
    }
    // Offset 4 was never acknowledged: the final commit on close must not pass it.
    expect((await committedOffsets(admin, groupId, topic))[0]).toBe(4);
    expect(delivered.map((d) => `${d.run}:${d.n}@${d.offset}`)).toEqual([
      '1:0@0',
      '1:1@1',
      '1:2@2',
      '1:3@3',
      '1:4@4',
      '2:0@0',
      '2:1@1',
      '2:2@2',
      '2:3@3',
      '2:4@4',
    ]);
  });

  it('manual-immediate: each acknowledgment commits at once, never past an unacknowledged record', async () => {
    const topic = await createTopic(admin, 'manual-immediate', 1);
    const groupId = uniqueName('g-immediate');
    let acks = new Map<number, Acknowledgment>();

    @Injectable()
    class ImmediateListener {
      // A commit interval far beyond the test: only the acknowledgment itself can commit in time.
      @KafkaListener({
        topics: [topic],
        groupId,
        fromBeginning: true,
        ackMode: 'manual-immediate',
        commitIntervalMs: 600_000,
      })
      handle(@Payload() payload: { n: number }, @Ack() ack: Acknowledgment) {
        acks.set(payload.n, ack);
      }
    }

    await produce(
      topic,
      Array.from({ length: 3 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    const first = await startListenerApp([ImmediateListener]);
    try {
      await eventually(async () => (acks.size === 3 ? true : undefined));
      acks.get(1)?.acknowledge();
    } finally {
      // Close commits whatever may be committed: with 0 unacknowledged, nothing.
      await first.close();
    }
    expect((await committedOffsets(admin, groupId, topic))[0]).toBe(-1);

    acks = new Map();
    const second = await startListenerApp([ImmediateListener]);
    try {
      await eventually(async () => (acks.size === 3 ? true : undefined));
      acks.get(1)?.acknowledge();
      acks.get(0)?.acknowledge();
      await eventually(
        async () => ((await committedOffsets(admin, groupId, topic))[0] === 2 ? true : undefined),
        5_000,
      );
      acks.get(2)?.acknowledge();
      await eventually(
        async () => ((await committedOffsets(admin, groupId, topic))[0] === 3 ? true : undefined),
        5_000,
      );
    } finally {
      await second.close();
    }
  });
});
