/**
 * Injected network latency: a delaying TCP proxy (bench/delay-proxy.ts) in a child process
 * between the benchmark's clients and PostgreSQL, and a measured `SELECT 1` round trip to verify
 * what it injects.
 *
 * Why not `tc netem` on a veth pair between network namespaces: the kernel of these machines has
 * no netem qdisc (`tc qdisc add ... netem` answers "Specified qdisc kind is unknown"), and delay
 * must never be added to the loopback device that other processes use.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../src/database/project-root';
import { processCpuMs } from './cpu';
import { median } from './client-bench';

/** A running proxy. Stop it with `stop()` (it also exits when the benchmark does). */
export interface DelayProxy {
  /** Injected round-trip time, ms (twice the one-way delay). */
  rttMs: number;
  port: number;
  pid: number;
  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string;
  /** The one-way delay now set, µs. */
  oneWayUs: number;
  /** Changes the one-way delay (calibration). */
  setOneWayUs(us: number): void;
  /** CPU time the proxy process has used so far, ms (undefined off Linux). */
  cpuMs(): number | undefined;
  stop(): Promise<void>;
}

/** Every proxy started and not yet stopped, killed on exit whatever happens. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts a proxy to `target` (a PostgreSQL URL; its host and port are used) that adds `rttMs / 2`
 * in each direction.
 */
export async function startDelayProxy(target: string, rttMs: number): Promise<DelayProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(PROJECT_ROOT, 'bench', 'delay-proxy.ts'),
      String(Math.round((rttMs / 2) * 1000)),
      hostname,
      targetPort || '5432',
    ],
    { cwd: PROJECT_ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  running.add(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const timer = setTimeout(
      () => reject(new Error('the delay proxy did not start in 20 s')),
      20_000,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolvePort((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the delay proxy exited with ${code}`));
    });
  });
  const pid = child.pid as number;
  const proxy: DelayProxy = {
    rttMs,
    oneWayUs: Math.round((rttMs / 2) * 1000),
    setOneWayUs(us: number): void {
      proxy.oneWayUs = Math.max(0, Math.round(us));
      child.stdin?.write(`${proxy.oneWayUs}\n`);
    },
    port,
    pid,
    through(url: string): string {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    cpuMs: () => processCpuMs(pid),
    async stop(): Promise<void> {
      running.delete(child);
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.stdin?.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
  return proxy;
}

/** What a calibrated proxy adds, measured. */
export interface CalibratedLatency {
  /** The round-trip time asked for, ms. */
  targetRttMs: number;
  /** The proxy's one-way delay after calibration, µs. */
  oneWayUs: number;
  /** `SELECT 1` without the proxy, and through it (the last measurement). */
  direct: MeasuredRtt;
  proxied: MeasuredRtt;
  /**
   * Round trip added by the proxy, ms: the median of paired differences (each proxied `SELECT 1`
   * minus the direct one timed just before it), so that load from elsewhere hits both alike.
   */
  injectedMs: number;
}

/** Median and 90th percentile of sequential `SELECT 1` round trips, ms. */
export interface MeasuredRtt {
  medianMs: number;
  p90Ms: number;
  samples: number;
}

function describe(times: number[]): MeasuredRtt {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    medianMs: median(sorted),
    p90Ms: sorted[Math.floor(sorted.length * 0.9)],
    samples: sorted.length,
  };
}

/**
 * Times `samples` pairs of sequential `SELECT 1`: one direct, then one through the proxy (after 20
 * unmeasured pairs).
 */
async function measurePairs(
  url: string,
  proxy: DelayProxy,
  samples: number,
): Promise<{ direct: MeasuredRtt; proxied: MeasuredRtt; injectedMs: number }> {
  const direct = new pg.Client({ connectionString: url });
  const proxied = new pg.Client({ connectionString: proxy.through(url) });
  await Promise.all([direct.connect(), proxied.connect()]);
  try {
    const d: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < samples + 20; i++) {
      const t0 = performance.now();
      await direct.query('SELECT 1');
      const t1 = performance.now();
      await proxied.query('SELECT 1');
      const t2 = performance.now();
      if (i >= 20) {
        d.push(t1 - t0);
        p.push(t2 - t1);
      }
    }
    return {
      direct: describe(d),
      proxied: describe(p),
      injectedMs: median(p.map((v, i) => v - d[i])),
    };
  } finally {
    await Promise.all([direct.end(), proxied.end()]);
  }
}

/**
 * Sets the proxy's delay so that a `SELECT 1` round trip through it takes about `proxy.rttMs` more
 * than a direct one (the proxy's own hop and wake-up latency count as injected latency too): up
 * to three damped corrections, the delay kept between half and 1.2 times the nominal one, because
 * on a busy machine a single measurement can be off by more than the whole delay.
 */
export async function calibrate(proxy: DelayProxy, url: string): Promise<CalibratedLatency> {
  const nominalUs = proxy.oneWayUs;
  let measured = await measurePairs(url, proxy, 150);
  for (let step = 0; step < 3; step++) {
    const error = measured.injectedMs - proxy.rttMs;
    if (Math.abs(error) <= Math.max(0.05, proxy.rttMs * 0.05)) break;
    const next = proxy.oneWayUs - (error / 2) * 1000 * 0.7;
    proxy.setOneWayUs(Math.min(nominalUs * 1.2, Math.max(nominalUs / 2, next)));
    measured = await measurePairs(url, proxy, 150);
  }
  return { targetRttMs: proxy.rttMs, oneWayUs: proxy.oneWayUs, ...measured };
}

/** Times `samples` sequential `SELECT 1` on one connection (after 20 unmeasured). */
export async function measureRtt(url: string, samples = 200): Promise<MeasuredRtt> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const times: number[] = [];
    for (let i = 0; i < samples + 20; i++) {
      const start = performance.now();
      await client.query('SELECT 1');
      if (i >= 20) times.push(performance.now() - start);
    }
    return describe(times);
  } finally {
    await client.end();
  }
}
