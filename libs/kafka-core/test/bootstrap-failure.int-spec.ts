import { Injectable } from '@nestjs/common';
import { Admin, Consumer } from 'kafkajs';
import { KafkaListener, Payload } from '@app/kafka-core';
import { rawKafka, uniqueName } from '../../../test/support/kafka';
import { createTopic, produce, startListenerApp } from '../../../test/support/listener-app';
import { groupMembers, untilOr } from './support/listener-probes';

/**
 * Item 12 of issue 11: when the application's start fails after some listener containers started,
 * those containers stop and leave their groups instead of consuming on in a half-started process.
 */
describe('bootstrap failure (real broker)', () => {
  let admin: Admin;
  let observer: Consumer | undefined;
  beforeAll(async () => {
    admin = rawKafka().admin();
    await admin.connect();
  });
  afterEach(async () => {
    await observer?.disconnect().catch(() => undefined);
    observer = undefined;
  });
  afterAll(() => admin.disconnect());

  it('a listener whose start fails stops the ones started before it: their group has no member of the failed application', async () => {
    const topic = await createTopic(admin, 'boot-ok', 2);
    const missingTopic = uniqueName('boot-missing');
    const groupId = uniqueName('g-boot-ok');
    const handled: number[] = [];

    @Injectable()
    class TwoListeners {
      // Starts first (declared first) on a topic that exists.
      @KafkaListener({ id: 'healthy', topics: [topic], groupId, fromBeginning: true })
      healthy(@Payload() payload: { n: number }) {
        handled.push(payload.n);
      }

      // Its topic does not exist and nothing provisions it (no dead-letter topic): its start fails.
      @KafkaListener({
        id: 'broken',
        topics: [missingTopic],
        groupId: uniqueName('g-boot-broken'),
        deadLetter: false,
      })
      broken() {}
    }

    let failure: unknown;
    try {
      const app = await startListenerApp([TwoListeners]);
      await app.close();
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(Error);

    // Join the healthy listener's group from outside: once this member has joined, the group's
    // member list is definitive, and a container left running would be in it, holding a partition.
    observer = rawKafka().consumer({ groupId, sessionTimeout: 6_000, maxWaitTimeInMs: 100 });
    const joined: { memberId?: string; partitions?: number[] } = {};
    observer.on(observer.events.GROUP_JOIN, ({ payload }) => {
      joined.memberId = payload.memberId;
      joined.partitions = [...(payload.memberAssignment[topic] ?? [])].sort();
    });
    const observed: number[] = [];
    await observer.connect();
    await observer.subscribe({ topics: [topic], fromBeginning: true });
    await observer.run({
      eachMessage: async ({ message }) => void observed.push(JSON.parse(String(message.value)).n),
    });
    await untilOr(
      () => joined.memberId !== undefined,
      () => joined,
    );
    const group = await groupMembers(admin, groupId);
    // A record sent now reaches the observer, never a listener of the failed application.
    await produce(topic, [
      { value: JSON.stringify({ n: 1 }), partition: 0 },
      { value: JSON.stringify({ n: 2 }), partition: 1 },
    ]);
    await untilOr(
      () => observed.length + handled.length >= 2,
      () => ({ observed, handled }),
    );

    const seenByBoth = { handled, observed: [...observed].sort() };
    expect({ members: group.members, partitions: joined.partitions, seenByBoth }).toEqual({
      seenByBoth: { handled: [], observed: [1, 2] },
      members: [joined.memberId],
      partitions: [0, 1],
    });
  });
});
