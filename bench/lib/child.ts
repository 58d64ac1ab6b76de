/**
 * Lets an arm file run on its own, as a child process with a clean heap:
 *   node -r ./bench/register.js bench/arms/<arm>.ts '<options as JSON>'
 * It samples RSS while the arm runs and sends `{ result, memory }` back over IPC (or prints it).
 */
export interface MemoryReport {
  /** RSS when the arm module started (its imports loaded), MB. */
  startMb: number;
  /** RSS when the first record arrived, MB: the service is up and about to take load. */
  atFirstRecordMb?: number;
  /** Highest RSS sampled from the start to the end of the run, MB. */
  peakMb: number;
  /** Highest RSS sampled between the first and the last record, MB. */
  peakUnderLoadMb?: number;
  endMb: number;
  heapUsedPeakMb: number;
  /** Whether the TypeScript compiler is loaded in this process (it should not be: it inflates RSS). */
  typescriptLoaded: boolean;
}

const MB = 1024 * 1024;

export class RssSampler {
  private readonly startRss = process.memoryUsage.rss();
  private peak = this.startRss;
  private heapPeak = 0;
  private firstRecordRss?: number;
  private loadPeak?: number;
  private underLoad = false;
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 20) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Call with the first record: load starts here. */
  markFirstRecord(): void {
    this.firstRecordRss = process.memoryUsage.rss();
    this.loadPeak = this.firstRecordRss;
    this.underLoad = true;
  }

  /** Call when the last record was handled, before shutting down. */
  markLastRecord(): void {
    this.sample();
    this.underLoad = false;
  }

  sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    if (rss > this.peak) this.peak = rss;
    if (heapUsed > this.heapPeak) this.heapPeak = heapUsed;
    if (this.underLoad && this.loadPeak !== undefined && rss > this.loadPeak) this.loadPeak = rss;
  }

  /** Stops sampling; the report covers the run so far. */
  stop(typescriptLoaded: boolean): MemoryReport {
    this.sample();
    clearInterval(this.timer);
    const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / MB);
    return {
      startMb: this.startRss / MB,
      atFirstRecordMb: mb(this.firstRecordRss),
      peakMb: this.peak / MB,
      peakUnderLoadMb: mb(this.loadPeak),
      endMb: process.memoryUsage.rss() / MB,
      heapUsedPeakMb: this.heapPeak / MB,
      typescriptLoaded,
    };
  }
}

/** Runs `arm` when its file is the process' entry point; `sampler` gets the first-record mark. */
export function runAsChild<O, R>(
  entry: NodeModule,
  arm: (options: O, sampler: RssSampler) => Promise<R>,
): void {
  if (require.main !== entry) return;
  const sampler = new RssSampler();
  const options = JSON.parse(process.argv[2] ?? '{}') as O;
  // Exits once the report is out: a client library's leftover timers must not keep the child alive.
  const send = (message: unknown, code: number) => {
    if (process.send) process.send(message, () => process.exit(code));
    else process.stdout.write(`${JSON.stringify(message)}\n`, () => process.exit(code));
  };
  arm(options, sampler).then(
    (result) => {
      // The last sample is taken before shutdown, which only frees memory.
      const register = require.cache[require.resolve('../register.js')]?.exports as
        { typescriptLoaded?: () => boolean } | undefined;
      send({ result, memory: sampler.stop(register?.typescriptLoaded?.() ?? false) }, 0);
    },
    (error: Error) => send({ error: error.stack ?? error.message }, 1),
  );
}
