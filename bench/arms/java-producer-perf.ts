import { brokersFromEnv } from '../lib/kafka';
import { runKafkaTool } from '../lib/java';

/** Kafka's own `ProducerPerformance`: the broker's ingest ceiling on this machine (B0). */
export interface JavaProducerPerfOptions {
  topic: string;
  records: number;
  recordBytes: number;
  /** Extra producer properties, e.g. `linger.ms=5`. */
  producerProps?: string[];
}

export interface ProducerResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs?: number;
}

export async function javaProducerPerf(options: JavaProducerPerfOptions): Promise<ProducerResult> {
  const stdout = await runKafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    options.topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordBytes),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokersFromEnv().join(',')}`,
    'acks=all',
    ...(options.producerProps ?? []),
  ]);
  // The last summary line covers the whole run; earlier ones are 5-second progress reports.
  const lines = stdout.trim().split('\n');
  const summary = lines[lines.length - 1];
  const match =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency/.exec(summary);
  if (!match) throw new Error(`unexpected ProducerPerformance output: ${summary}`);
  return {
    records: Number(match[1]),
    recordsPerSec: Number(match[2]),
    mbPerSec: Number(match[3]),
    avgLatencyMs: Number(match[4]),
  };
}
