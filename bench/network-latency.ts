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
  /** `SELECT 1` without the proxy, and through it. */
  direct: MeasuredRtt;
  proxied: MeasuredRtt;
  /** Median round trip added by the proxy (proxied − direct), ms. */
  injectedMs: number;
}

/**
 * Sets the proxy's delay so that the median `SELECT 1` round trip through it exceeds the direct
 * one by about `proxy.rttMs` (the proxy's own hop and its wake-up latency count as injected
 * latency too): up to three corrections, each by the measured error.
 */
export async function calibrate(proxy: DelayProxy, url: string): Promise<CalibratedLatency> {
  const nominalUs = proxy.oneWayUs;
  let direct = await measureRtt(url, 150);
  let proxied = await measureRtt(proxy.through(url), 150);
  for (let step = 0; step < 3; step++) {
    const error = proxied.medianMs - direct.medianMs - proxy.rttMs;
    if (Math.abs(error) <= Math.max(0.05, proxy.rttMs * 0.05)) break;
    // Damped, and never below a quarter of the nominal delay: on a busy machine one measurement
    // can overshoot by more than the whole delay.
    proxy.setOneWayUs(Math.max(nominalUs / 4, proxy.oneWayUs - (error / 2) * 1000 * 0.7));
    direct = await measureRtt(url, 150);
    proxied = await measureRtt(proxy.through(url), 150);
  }
  return {
    targetRttMs: proxy.rttMs,
    oneWayUs: proxy.oneWayUs,
    direct,
    proxied,
    injectedMs: proxied.medianMs - direct.medianMs,
  };
}

/** Median and 90th percentile of sequential `SELECT 1` round trips, ms. */
export interface MeasuredRtt {
  medianMs: number;
  p90Ms: number;
  samples: number;
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
    times.sort((a, b) => a - b);
    return {
      medianMs: median(times),
      p90Ms: times[Math.floor(times.length * 0.9)],
      samples,
    };
  } finally {
    await client.end();
  }
}
