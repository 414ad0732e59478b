/**
 * A TCP proxy that delays every chunk by a fixed time in each direction, preserving order: a
 * round-trip time injected between the benchmark and PostgreSQL without touching the loopback
 * device (other processes use it) and without `tc netem` (this machine's kernel has no netem).
 *
 * Runs as its own process (bench/network-latency.ts starts it), so that its work does not share
 * the benchmark's event loop or count as the benchmark's CPU.
 *
 * Usage: `node --import tsx bench/delay-proxy.ts <one-way delay µs> <target host> <target port>`;
 * prints `{"port":<n>}` once it listens on 127.0.0.1. A line `<µs>` on stdin changes the delay (for
 * calibration against a measured round trip).
 *
 * Timers: Node's timers have a 1 ms resolution, too coarse for a 0.25 ms one-way delay. While a
 * chunk is waiting, the loop sleeps in short precise steps (`Atomics.wait`, at most STEP_US) and
 * polls the sockets between steps (`setImmediate`), so a chunk leaves within about STEP_US of its
 * due time and data that arrives meanwhile is stamped at most STEP_US late. With nothing waiting
 * the process is idle.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const STEP_US = 40;

const [delayArg, host = '127.0.0.1', portArg = '5432'] = process.argv.slice(2);
let oneWayMs = Number(delayArg) / 1000;
if (!Number.isFinite(oneWayMs) || oneWayMs < 0)
  throw new Error(`usage: delay-proxy <one-way delay µs> [host] [port]; got ${delayArg}`);

interface Pending {
  due: number;
  to: Socket;
  chunk: Buffer;
}

/** Chunks in arrival order; every chunk has the same delay, so due times are in order too. */
const queue: Pending[] = [];
let head = 0;
let scheduled = false;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function flush(): void {
  const now = performance.now();
  while (head < queue.length && queue[head].due <= now) {
    const { to, chunk } = queue[head++];
    if (!to.destroyed) to.write(chunk);
  }
  if (head > 1024 && head * 2 > queue.length) {
    queue.splice(0, head);
    head = 0;
  }
}

function tick(): void {
  scheduled = false;
  flush();
  if (head >= queue.length) return;
  const wait = queue[head].due - performance.now();
  if (wait > 2) {
    // Far away: a timer, woken 1 ms early, then the fine steps.
    scheduled = true;
    setTimeout(tick, Math.floor(wait - 1));
    return;
  }
  if (wait > 0) Atomics.wait(sleeper, 0, 0, Math.min(wait, STEP_US / 1000));
  scheduled = true;
  setImmediate(tick);
}

function forward(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (oneWayMs === 0) {
      to.write(chunk);
      return;
    }
    queue.push({ due: performance.now() + oneWayMs, to, chunk });
    if (!scheduled) {
      scheduled = true;
      setImmediate(tick);
    }
  });
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = createConnection({ host, port: Number(portArg) });
  upstream.setNoDelay(true);
  forward(client, upstream);
  forward(upstream, client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', close).on('close', close);
  upstream.on('error', close).on('close', close);
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const us = Number(line);
  if (Number.isFinite(us) && us >= 0) oneWayMs = us / 1000;
});

// The parent's end of stdin closes when the benchmark exits, even if it crashed: leave with it.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
