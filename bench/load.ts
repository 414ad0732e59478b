/**
 * A closed-loop load generator for in-process calls: `concurrency` callers each await one
 * operation after the other; operations completed inside the measured window are counted.
 */
import { loadavg } from 'node:os';
import { PostgresCpuProbe } from './cpu';

/** One caller's operation. `caller` is 0..concurrency-1, `iteration` counts that caller's calls. */
export type Operation = (caller: number, iteration: number) => Promise<unknown>;

/** How long and how hard to run one case. */
export interface LoadSettings {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** When given, the PostgreSQL backends' CPU time is measured over the window too. */
  postgres?: PostgresCpuProbe;
}

/** The outcome of one run of one case. */
export interface LoadResult {
  ops: number;
  errors: number;
  /** Completed operations per second in the measured window. */
  opsPerSecond: number;
  /** Latency percentiles of the measured operations, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  /** This process's CPU time (all threads) per completed operation, µs. */
  clientCpuUsPerOp: number;
  /** CPU time of the PostgreSQL backends of the database per completed operation, µs. */
  serverCpuUsPerOp?: number;
  /** 1-minute load average of the machine when the window started. */
  loadAverage: number;
  /** The first error's message, if any. */
  firstError?: string;
}

const MAX_SAMPLES = 1 << 20;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs `operation` from `concurrency` callers for `warmupMs` (not counted) then `durationMs`
 * (counted). Errors are counted, never thrown; a caller that hits an error continues.
 */
export async function runLoad(operation: Operation, settings: LoadSettings): Promise<LoadResult> {
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopped = false;

  const caller = async (index: number): Promise<void> => {
    for (let iteration = 0; !stopped; iteration++) {
      const start = performance.now();
      try {
        await operation(index, iteration);
        // Completions inside the window count, whenever the operation started.
        if (measuring && !stopped) {
          ops++;
          if (samples < MAX_SAMPLES) latencies[samples++] = performance.now() - start;
        }
      } catch (error) {
        if (measuring && !stopped) errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };

  const callers = Array.from({ length: settings.concurrency }, (_, i) => caller(i));
  await sleep(settings.warmupMs);
  const serverBefore = await settings.postgres?.sample();
  const load = loadavg()[0];
  const cpuBefore = process.cpuUsage();
  measuring = true;
  const started = performance.now();
  await sleep(settings.durationMs);
  stopped = true;
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await settings.postgres?.sample();
  await Promise.all(callers);

  const sorted = latencies.subarray(0, samples).sort();
  return {
    ops,
    errors,
    opsPerSecond: (ops / elapsed) * 1000,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    clientCpuUsPerOp: (cpu.user + cpu.system) / ops,
    serverCpuUsPerOp:
      serverBefore && serverAfter
        ? (PostgresCpuProbe.elapsed(serverBefore, serverAfter) * 1000) / ops
        : undefined,
    loadAverage: load,
    firstError,
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
