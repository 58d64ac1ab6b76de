import { Admin } from 'kafkajs';
import { until } from '../../../../test/support/listener-app';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Like `until`, but a timeout names what was last seen (`describe()`), so a failure says what
 * happened instead of only that something did not.
 */
export async function untilOr(
  condition: () => boolean | Promise<boolean>,
  describe: () => unknown,
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await until(condition, timeoutMs);
  } catch (error) {
    let seen: string;
    try {
      seen = JSON.stringify(await describe());
    } catch (describeError) {
      seen = `(cannot describe: ${(describeError as Error).message})`;
    }
    throw new Error(`${(error as Error).message}; last seen: ${seen}`);
  }
}

/** The group's state and member ids as the broker sees them (admin describeGroups). */
export async function groupMembers(
  admin: Admin,
  groupId: string,
): Promise<{ state: string; members: string[] }> {
  const { groups } = await admin.describeGroups([groupId]);
  return { state: groups[0].state, members: groups[0].members.map((m) => m.memberId) };
}

/** Offset after the last record of each partition of a topic: where a complete consumer commits. */
export async function endOffsets(admin: Admin, topic: string): Promise<Record<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return Object.fromEntries(offsets.map((p) => [p.partition, Number(p.high)]));
}
