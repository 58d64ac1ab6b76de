import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { monotonicMs } from './kafka';

/** Options of one B7 run, shared by both consumer arms. */
export interface LatencyRunOptions {
  topic: string;
  groupId: string;
  partitions: number;
  rate: number;
  durationMs: number;
  valueBytes: number;
  /** Records sent before this sequence number are warm-up and not counted. */
  warmupRecords: number;
}

export interface LatencyRunResult {
  sent: number;
  /** Measured records that arrived (warm-up excluded). */
  received: number;
  /** Produce→handler latencies in ms of the measured records, in arrival order. */
  latenciesMs: number[];
  /** OffsetCommit requests the consumer made during the run (kafkajs instrumentation). */
  commits?: number;
}

/** Collects produce→handler latencies from the records' `sentAt`. */
export class LatencyRecorder {
  readonly latenciesMs: number[] = [];
  private maxSeq = -1;
  private awaitedSeq = Infinity;
  private onAwaited?: () => void;

  constructor(private readonly warmupRecords: number) {}

  record(payload: { seq: number; sentAt: number }): void {
    const latency = monotonicMs() - payload.sentAt;
    if (payload.seq >= this.warmupRecords) this.latenciesMs.push(latency);
    if (payload.seq > this.maxSeq) this.maxSeq = payload.seq;
    if (this.maxSeq >= this.awaitedSeq) this.onAwaited?.();
  }

  /** Resolves once the record numbered `seq` arrived (then a moment for the other partitions). */
  async waitFor(seq: number, timeoutMs: number): Promise<void> {
    if (this.maxSeq < seq) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onAwaited = () => {
          clearTimeout(timer);
          resolve();
        };
        this.awaitedSeq = seq;
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs the steady producer child for one run and returns how many records it sent. */
export function produceSteadily(options: LatencyRunOptions): Promise<number> {
  const script = path.join(__dirname, 'steady-producer.js');
  const child = spawn(process.execPath, [script, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (message: { sent?: number; failed?: number; error?: string }) => {
      if (message.error) reject(new Error(`steady producer: ${message.error}`));
      else if (message.failed) reject(new Error(`steady producer: ${message.failed} sends failed`));
      else resolve(message.sent as number);
    });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`steady producer exited with ${code}`));
    });
  });
}

/** The shared shape of a latency run: consumer ready → produce → wait for the last record. */
export async function measureLatency(
  options: LatencyRunOptions,
  recorder: LatencyRecorder,
): Promise<LatencyRunResult> {
  const sent = await produceSteadily(options);
  await recorder.waitFor(sent - 1, 15_000);
  return { sent, received: recorder.latenciesMs.length, latenciesMs: recorder.latenciesMs };
}
