import { brokersFromEnv } from '../lib/kafka';
import { runKafkaTool } from '../lib/java';

/** Kafka's own `ConsumerPerformance`: the broker's fetch ceiling on this machine (B0). */
export interface JavaConsumerPerfOptions {
  topic: string;
  groupId: string;
  records: number;
}

export interface ConsumerPerfResult {
  records: number;
  /** Fetch-phase rate, which leaves out the group join as first-to-last timing does. */
  recordsPerSec: number;
  mbPerSec: number;
  /** Rate over the whole run, group join included. */
  totalRecordsPerSec: number;
}

export async function javaConsumerPerf(options: JavaConsumerPerfOptions): Promise<ConsumerPerfResult> {
  const stdout = await runKafkaTool('org.apache.kafka.tools.ConsumerPerformance', [
    '--bootstrap-server',
    brokersFromEnv().join(','),
    '--topic',
    options.topic,
    '--group',
    options.groupId,
    '--messages',
    String(options.records),
    '--timeout',
    '60000',
  ]);
  // A header line, then: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
  // nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  const lines = stdout.trim().split('\n');
  const header = lines.findIndex((line) => line.includes('nMsg.sec'));
  const fields = (lines[header + 1] ?? '').split(',').map((f) => f.trim());
  const names = lines[header].split(',').map((f) => f.trim());
  const field = (name: string) => Number(fields[names.indexOf(name)]);
  if (header < 0 || !Number.isFinite(field('fetch.nMsg.sec'))) {
    throw new Error(`unexpected ConsumerPerformance output: ${stdout.slice(-500)}`);
  }
  return {
    records: field('data.consumed.in.nMsg'),
    recordsPerSec: field('fetch.nMsg.sec'),
    mbPerSec: field('fetch.MB.sec'),
    totalRecordsPerSec: field('nMsg.sec'),
  };
}
