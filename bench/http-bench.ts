/**
 * HTTP benchmark: `GET /approval-items/:id` with a valid token, through the full demo app, the same
 * app without the membership check and with a cached one, and the plain-Prisma baseline
 * (bench/plain-app.ts). All the apps run in this process; autocannon fires the requests from a worker thread so that the load
 * generator does not share the apps' event loop.
 */
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { AppModule } from '../src/app.module';
import { mainThreadCpuMs, PostgresCpuProbe } from './cpu';
import type { BenchDatabase } from './database';
import { PlainAppModule } from './plain-app';
import { median } from './client-bench';

/** The HS256 secret of the benchmark's apps and tokens. */
const JWT_SECRET = 'bench-only-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** Which app serves the endpoint. */
export type HttpVariant = 'full' | 'full-no-membership' | 'full-cached-membership' | 'plain';

export const HTTP_VARIANT_LABELS: Record<HttpVariant, string> = {
  full: 'full demo app, AppModule.forRoot() (token + membership check + tenant client, both layers)',
  'full-no-membership': 'full demo app, AppModule.forRoot({ verifyMembership: false })',
  'full-cached-membership': 'full demo app, AppModule.forRoot({ membershipCacheTtlMs: 30_000 })',
  plain: 'plain Prisma Nest app (bench/plain-app.ts: token + findUnique by id)',
};

/** One autocannon window against one app. */
export interface HttpWindow {
  durationSeconds: number;
  /** 2xx responses per second. */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  responses2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU time of this process's main thread (the apps' event loop) in the window, ms. */
  appCpuMs: number | undefined;
  /** CPU time of the PostgreSQL backends in the window, ms. */
  serverCpuMs: number | undefined;
  /** 1-minute load average when the window started. */
  loadAverage: number;
}

/** All windows of one app at one connection count, summed. */
export interface HttpRun {
  variant: HttpVariant;
  connections: number;
  durationSeconds: number;
  /** 2xx responses per second over all windows. */
  requestsPerSecond: number;
  /** Medians over the windows. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  responses2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Main-thread CPU µs per 2xx response (the apps run on the main thread). */
  appCpuUsPerRequest: number | undefined;
  /** PostgreSQL backends' CPU µs per 2xx response. */
  serverCpuUsPerRequest: number | undefined;
  loadAverage: number;
  windows: HttpWindow[];
}

/** Timing of the HTTP benchmark. */
export interface HttpBenchSettings {
  connections: number[];
  /** Each app gets `windows` windows of `windowSeconds` per connection count, interleaved. */
  windowSeconds: number;
  windows: number;
  warmupSeconds: number;
  /** Distinct item ids the requests cycle over. */
  ids: number;
}

interface StartedApp {
  variant: HttpVariant;
  app: INestApplication;
  url: string;
}

async function start(variant: HttpVariant, module: Type | DynamicModule): Promise<StartedApp> {
  const app = await NestFactory.create(module, { logger: ['error', 'warn'], abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { variant, app, url: `http://127.0.0.1:${port}` };
}

/**
 * Waits (at most 5 s) until the app has no open HTTP connection: autocannon stops on time, but the
 * requests it had in flight are still being served, and closing the app under them would end
 * their database pool.
 */
export async function drain(app: { app: INestApplication }): Promise<void> {
  const server = app.app.getHttpServer() as Server;
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const open = await new Promise<number>((resolve) =>
      server.getConnections((error, count) => resolve(error ? 0 : count)),
    );
    if (open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectOk(
  app: StartedApp,
  path: string,
  authorization: string,
  itemId: string,
): Promise<void> {
  const response = await fetch(`${app.url}${path}`, { headers: { authorization } });
  const body = (await response.json()) as { id?: string };
  if (response.status !== 200 || body.id !== itemId) {
    throw new Error(
      `${app.variant}: GET ${path} answered ${response.status} ${JSON.stringify(body)}`,
    );
  }
}

/**
 * One autocannon window (one worker thread) against the app at `url`, with the main thread's CPU
 * time (the app's event loop) and the PostgreSQL backends' (when `postgres` is given) around it.
 * `headers` go with every request, merged with each request's own.
 */
export async function fire(
  app: { url: string },
  connections: number,
  durationSeconds: number,
  requests: autocannon.Request[],
  headers: Record<string, string>,
  postgres: PostgresCpuProbe | undefined,
): Promise<HttpWindow> {
  const serverBefore = await postgres?.sample();
  const appBefore = mainThreadCpuMs();
  const loadAverage = loadavg()[0];
  const result = await autocannon({
    url: app.url,
    connections,
    duration: durationSeconds,
    workers: 1,
    timeout: 10,
    headers,
    requests,
  });
  const appAfter = mainThreadCpuMs();
  const serverAfter = await postgres?.sample();
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]),
  );
  return {
    durationSeconds: result.duration,
    requestsPerSecond: result['2xx'] / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMeanMs: result.latency.mean ?? result.latency.average,
    responses2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    appCpuMs: appBefore === undefined || appAfter === undefined ? undefined : appAfter - appBefore,
    serverCpuMs:
      serverBefore && serverAfter ? PostgresCpuProbe.elapsed(serverBefore, serverAfter) : undefined,
    loadAverage,
  };
}

function perRequest(ms: number | undefined, window: HttpWindow): string {
  return ms === undefined ? '?' : ((ms * 1000) / window.responses2xx).toFixed(0);
}

/** Windows of one app at one connection count, summed (rates over all) or their medians. */
export function summarizeWindows(windows: HttpWindow[]): Omit<HttpRun, 'variant' | 'connections'> {
  const sum = (pick: (w: HttpWindow) => number) => windows.reduce((s, w) => s + pick(w), 0);
  const responses2xx = sum((w) => w.responses2xx);
  const durationSeconds = sum((w) => w.durationSeconds);
  const cpu = (pick: (w: HttpWindow) => number | undefined) =>
    windows.every((w) => pick(w) !== undefined)
      ? (sum((w) => pick(w) as number) * 1000) / responses2xx
      : undefined;
  return {
    durationSeconds,
    requestsPerSecond: responses2xx / durationSeconds,
    latencyP50Ms: median(windows.map((w) => w.latencyP50Ms)),
    latencyP99Ms: median(windows.map((w) => w.latencyP99Ms)),
    responses2xx,
    non2xx: sum((w) => w.non2xx),
    errors: sum((w) => w.errors),
    timeouts: sum((w) => w.timeouts),
    appCpuUsPerRequest: cpu((w) => w.appCpuMs),
    serverCpuUsPerRequest: cpu((w) => w.serverCpuMs),
    loadAverage: median(windows.map((w) => w.loadAverage)),
    windows,
  };
}

function summarize(variant: HttpVariant, connections: number, windows: HttpWindow[]): HttpRun {
  return { variant, connections, ...summarizeWindows(windows) };
}

/**
 * Starts the apps, checks that each answers 200 with the right item, then, after one warm-up run
 * per app, runs autocannon against each at every connection count in short windows, interleaved
 * (all apps in one order, then in the reverse order), so that load from elsewhere on the machine
 * falls on all of them alike.
 */
export async function runHttpBench(
  db: BenchDatabase,
  settings: HttpBenchSettings,
  postgres: PostgresCpuProbe | undefined,
  log: (line: string) => void,
): Promise<HttpRun[]> {
  process.env.NODE_ENV = 'production'; // no per-query debug logging (PrismaModule's development default)
  process.env.DATABASE_URL = db.runtimeUrl;
  process.env.SYSTEM_DATABASE_URL = db.adminUrl;
  process.env.JWT_SECRET = JWT_SECRET;
  for (const unused of ['JWT_PUBLIC_KEY', 'JWT_ISSUER', 'JWT_AUDIENCE']) delete process.env[unused];

  const workspace = db.workspaces[0];
  const authorization = `Bearer ${jwt.sign(
    { sub: workspace.userIds[1], workspaceId: workspace.id },
    JWT_SECRET,
    {
      algorithm: 'HS256',
      expiresIn: '1h',
    },
  )}`;
  const ids = workspace.itemIds.slice(0, settings.ids);
  const requests = ids.map((id) => ({ method: 'GET', path: `/approval-items/${id}` }));

  const apps: StartedApp[] = [];
  try {
    apps.push(await start('full', AppModule.forRoot({}, { throttle: false })));
    apps.push(
      await start(
        'full-no-membership',
        AppModule.forRoot({ verifyMembership: false }, { throttle: false }),
      ),
    );
    apps.push(
      await start(
        'full-cached-membership',
        AppModule.forRoot({ membershipCacheTtlMs: 30_000 }, { throttle: false }),
      ),
    );
    apps.push(
      await start(
        'plain',
        PlainAppModule.forRoot({
          url: db.ownerIsSuperuser ? db.ownerUrl : db.adminUrl,
          jwtSecret: JWT_SECRET,
          poolMax: 10,
        }),
      ),
    );
    for (const app of apps) {
      await expectOk(app, `/approval-items/${ids[0]}`, authorization, ids[0]);
      log(`  ${app.variant} listening on ${app.url}, answers 200`);
    }
    for (const app of apps) {
      await fire(
        app,
        settings.connections[0],
        settings.warmupSeconds,
        requests,
        { authorization },
        undefined,
      );
    }

    const runs: HttpRun[] = [];
    for (const [level, connections] of settings.connections.entries()) {
      // The cached-membership variant answers one question (what a cache would save): first level only.
      const measured = apps.filter(
        (app) => level === 0 || app.variant !== 'full-cached-membership',
      );
      const windows = new Map<HttpVariant, HttpWindow[]>(measured.map((app) => [app.variant, []]));
      for (let round = 0; round < settings.windows; round++) {
        for (const app of (level + round) % 2 === 0 ? measured : [...measured].reverse()) {
          const window = await fire(
            app,
            connections,
            settings.windowSeconds,
            requests,
            { authorization },
            postgres,
          );
          await drain(app);
          windows.get(app.variant)?.push(window);
          log(
            `  ${app.variant.padEnd(22)} c=${String(connections).padEnd(3)} ${window.requestsPerSecond.toFixed(0).padStart(6)} req/s` +
              `  p50 ${window.latencyP50Ms} ms  p99 ${window.latencyP99Ms} ms  non-2xx ${window.non2xx}  errors ${window.errors}` +
              `  cpu/req ${perRequest(window.appCpuMs, window)} µs + pg ${perRequest(window.serverCpuMs, window)} µs` +
              `  load ${window.loadAverage.toFixed(1)}`,
          );
        }
      }
      for (const [variant, list] of windows) runs.push(summarize(variant, connections, list));
    }
    return runs;
  } finally {
    for (const app of apps) {
      await drain(app);
      await app.app.close();
    }
  }
}
