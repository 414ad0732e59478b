/**
 * CPU time counters. Throughput on a shared 2-core machine moves with whatever else runs there;
 * CPU time spent per operation, by this process and by the PostgreSQL backends serving it, moves
 * much less, so the report gives both.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pg from 'pg';

/**
 * Time a process or thread has spent on a CPU, in ms, from /proc/<path>/schedstat (nanoseconds;
 * the first field); undefined when unreadable (not Linux, or another machine's process).
 */
function procCpuMs(path: string): number | undefined {
  // Synchronous on purpose: procfs answers from memory, and under load an asynchronous read waits
  // for event-loop turns (seconds for a dozen files while ten callers keep the loop busy).
  try {
    const schedstat = readFileSync(`${path}/schedstat`, 'utf8');
    const ns = Number(schedstat.split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time another process on this machine has used, in ms (undefined when unreadable). */
export function processCpuMs(pid: number): number | undefined {
  return procCpuMs(`/proc/${pid}`);
}

/**
 * CPU time of this process's main thread (the event loop), in ms: excludes worker threads (the
 * HTTP load generator runs in one). Undefined off Linux.
 */
export function mainThreadCpuMs(): number | undefined {
  return procCpuMs(`/proc/self/task/${process.pid}`);
}

/**
 * CPU time of the PostgreSQL backends connected to one database, read from /proc (works when the
 * server runs on this machine, as here). Backends that disconnect between two samples are lost;
 * the benchmark's pools keep theirs open.
 */
export class PostgresCpuProbe {
  private constructor(
    private readonly client: pg.Client,
    private readonly database: string,
  ) {}

  /** A probe, or undefined when the server's processes are not visible from here. */
  static async open(ownerUrl: string, database: string): Promise<PostgresCpuProbe | undefined> {
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    const probe = new PostgresCpuProbe(client, database);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const comm = await readFile(`/proc/${rows[0].pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() !== 'postgres') {
      await client.end();
      return undefined;
    }
    return probe;
  }

  /** CPU ms per backend pid of the database (the probe's own connection excluded). */
  async sample(): Promise<Map<number, number>> {
    const { rows } = await this.client.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [this.database],
    );
    const sample = new Map<number, number>();
    for (const { pid } of rows) {
      const ms = procCpuMs(`/proc/${pid}`);
      if (ms !== undefined) sample.set(pid, ms);
    }
    return sample;
  }

  /** CPU ms the backends used between two samples (new backends count from zero). */
  static elapsed(before: Map<number, number>, after: Map<number, number>): number {
    let total = 0;
    for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
    return total;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
