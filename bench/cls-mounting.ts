/**
 * What mounting nestjs-cls costs per request, and which mounting costs least (issue 10: "measure
 * what nestjs-cls's middleware vs guard vs interceptor mounting costs").
 *
 * One minimal Nest app (Express, `GET /tenant` answering `{ tenant }`, the value of the request's
 * `x-tenant-id` header) mounted four ways, all in this process, no database:
 *
 * - `none`: no nestjs-cls at all; the handler reads the header itself (the baseline);
 * - `middleware`: `ClsModule.forRoot({ middleware: { mount: true, setup } })`, as the demo app
 *   mounts it (src/app.module.ts), the setup copying the header into the CLS store;
 * - `guard`: `ClsModule.forRoot({ guard: { mount: true, setup } })`;
 * - `interceptor`: `ClsModule.forRoot({ interceptor: { mount: true, setup } })`.
 *
 * In the three CLS apps the handler reads the value from `ClsService`. Each keeps nestjs-cls's
 * defaults otherwise (the middleware saves the request, the guard and the interceptor the execution
 * context), and `ClsModule.forRoot` registers the two enhancers it does not mount as no-ops (an
 * `APP_GUARD` that returns true, an `APP_INTERCEPTOR` that passes through), so each CLS app pays
 * for those too, exactly as the demo does. The difference to `none` is therefore the whole price
 * of that mounting, not of nestjs-cls's context alone.
 *
 * Load and CPU are measured as in the HTTP benchmark (bench/http-bench.ts): autocannon from a
 * worker thread, the main thread's CPU time (the apps' event loop) per 2xx response. The four apps
 * take turns in short windows, rounds in pairs (one order, then its reverse; each pair and
 * connection count starting one app further on), so that load from elsewhere on the machine and
 * the order fall on all of them alike.
 *
 * Part of `npm run bench` (skip it with BENCH_SKIP_CLS=1); on its own, with no database:
 * `npx tsx bench/cls-mounting.ts` (BENCH_QUICK=1 for one short round).
 */
import {
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  Headers,
  Inject,
  type INestApplication,
  Module,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type autocannon from 'autocannon';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClsModule, type ClsModuleOptions, ClsService, type ClsStore } from 'nestjs-cls';
import { drain, fire, summarizeWindows, type HttpRun, type HttpWindow } from './http-bench';
import { fmt } from './report';

/** How nestjs-cls is mounted (`none`: not at all). */
export type ClsMounting = 'none' | 'middleware' | 'guard' | 'interceptor';

/** The mountings, baseline first. */
export const CLS_MOUNTINGS: readonly ClsMounting[] = ['none', 'middleware', 'guard', 'interceptor'];

export const CLS_MOUNTING_LABELS: Record<ClsMounting, string> = {
  none: 'no nestjs-cls; the handler reads the header (`@Headers()`)',
  middleware:
    '`ClsModule.forRoot({ middleware: { mount: true, setup } })` (as the demo app mounts it); the handler reads `ClsService`',
  guard: '`ClsModule.forRoot({ guard: { mount: true, setup } })`; the handler reads `ClsService`',
  interceptor:
    '`ClsModule.forRoot({ interceptor: { mount: true, setup } })`; the handler reads `ClsService`',
};

/** Timing of the benchmark. */
export interface ClsMountingSettings {
  connections: number[];
  /**
   * Each app gets `rounds` windows of `windowSeconds` per connection count, interleaved (whole
   * seconds; see clsMountingSettings).
   */
  windowSeconds: number;
  rounds: number;
  /** One unmeasured window per app before the first measured one (0: none). */
  warmupSeconds: number;
  /** Distinct header values the requests cycle over. */
  tenants: number;
}

/** All windows of one mounting at one connection count. */
export type ClsMountingRun = Omit<HttpRun, 'variant' | 'serverCpuUsPerRequest'> & {
  mounting: ClsMounting;
};

const HEADER = 'x-tenant-id';

interface TenantStore extends ClsStore {
  tenant?: string;
}

interface HeaderRequest {
  headers: Record<string, string | string[] | undefined>;
}

function tenantOf(request: HeaderRequest): string | undefined {
  const value = request.headers[HEADER];
  return Array.isArray(value) ? value[0] : value;
}

function fromContext(context: ExecutionContext): string | undefined {
  return tenantOf(context.switchToHttp().getRequest<HeaderRequest>());
}

@Controller('tenant')
class HeaderController {
  @Get()
  get(@Headers(HEADER) tenant: string | undefined): { tenant: string | undefined } {
    return { tenant };
  }
}

@Controller('tenant')
class ClsController {
  constructor(@Inject(ClsService) private readonly cls: ClsService<TenantStore>) {}

  @Get()
  get(): { tenant: string | undefined } {
    return { tenant: this.cls.get('tenant') };
  }
}

function clsOptions(mounting: Exclude<ClsMounting, 'none'>): ClsModuleOptions {
  switch (mounting) {
    case 'middleware':
      return {
        middleware: {
          mount: true,
          setup: (cls: ClsService<TenantStore>, request: HeaderRequest) =>
            cls.set('tenant', tenantOf(request)),
        },
      };
    case 'guard':
      return {
        guard: {
          mount: true,
          setup: (cls: ClsService<TenantStore>, context) => cls.set('tenant', fromContext(context)),
        },
      };
    case 'interceptor':
      return {
        interceptor: {
          mount: true,
          setup: (cls: ClsService<TenantStore>, context) => cls.set('tenant', fromContext(context)),
        },
      };
  }
}

/** The benchmark's app, mounted one way. */
@Module({})
export class ClsMountingAppModule {
  static forRoot(mounting: ClsMounting): DynamicModule {
    if (mounting === 'none')
      return { module: ClsMountingAppModule, controllers: [HeaderController] };
    return {
      module: ClsMountingAppModule,
      imports: [ClsModule.forRoot({ global: true, ...clsOptions(mounting) })],
      controllers: [ClsController],
    };
  }
}

interface StartedApp {
  mounting: ClsMounting;
  app: INestApplication;
  url: string;
}

async function start(mounting: ClsMounting): Promise<StartedApp> {
  const app = await NestFactory.create(ClsMountingAppModule.forRoot(mounting), {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return { mounting, app, url: `http://127.0.0.1:${port}` };
}

/** Concurrent requests with distinct values must each get their own back (no context shared). */
async function expectOwnValues(app: StartedApp, tenants: string[]): Promise<void> {
  await Promise.all(
    tenants.map(async (tenant) => {
      const response = await fetch(`${app.url}/tenant`, { headers: { [HEADER]: tenant } });
      const body = (await response.json()) as { tenant?: string };
      if (response.status !== 200 || body.tenant !== tenant) {
        throw new Error(
          `${app.mounting}: GET /tenant with ${HEADER}: ${tenant} answered ${response.status} ${JSON.stringify(body)}`,
        );
      }
    }),
  );
}

/**
 * The apps' order in round `round`: rounds go in pairs, one order then its reverse (every app's
 * mean position the same), and each pair starts one app further on.
 */
function order<T>(apps: T[], round: number): T[] {
  const shift = Math.floor(round / 2) % apps.length;
  const rotated = [...apps.slice(shift), ...apps.slice(0, shift)];
  return round % 2 === 0 ? rotated : rotated.reverse();
}

/**
 * Starts the four apps, checks each, warms each up, then runs the interleaved windows at every
 * connection count; closes the apps in the end.
 */
export async function runClsMountingBench(
  settings: ClsMountingSettings,
  log: (line: string) => void,
): Promise<ClsMountingRun[]> {
  const tenants = Array.from(
    { length: settings.tenants },
    (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
  );
  const requests: autocannon.Request[] = tenants.map((tenant) => ({
    method: 'GET',
    path: '/tenant',
    headers: { [HEADER]: tenant },
  }));

  const apps: StartedApp[] = [];
  try {
    for (const mounting of CLS_MOUNTINGS) apps.push(await start(mounting));
    for (const app of apps) {
      await expectOwnValues(app, tenants);
      log(
        `  cls ${app.mounting.padEnd(11)} listening on ${app.url}, answers each request its own value`,
      );
    }
    for (const app of settings.warmupSeconds > 0 ? apps : []) {
      await fire(app, settings.connections[0], settings.warmupSeconds, requests, {}, undefined);
      await drain(app);
    }

    const runs: ClsMountingRun[] = [];
    for (const [level, connections] of settings.connections.entries()) {
      const windows = new Map<ClsMounting, HttpWindow[]>(apps.map((app) => [app.mounting, []]));
      for (let round = 0; round < settings.rounds; round++) {
        for (const app of order(apps, level * 2 * Math.ceil(settings.rounds / 2) + round)) {
          const window = await fire(
            app,
            connections,
            settings.windowSeconds,
            requests,
            {},
            undefined,
          );
          await drain(app);
          windows.get(app.mounting)?.push(window);
          const cpu =
            window.appCpuMs === undefined
              ? '?'
              : ((window.appCpuMs * 1000) / window.responses2xx).toFixed(1);
          log(
            `  cls ${app.mounting.padEnd(11)} c=${String(connections).padEnd(3)} ${window.requestsPerSecond.toFixed(0).padStart(6)} req/s` +
              `  p50 ${window.latencyP50Ms} ms  p99 ${window.latencyP99Ms} ms  non-2xx ${window.non2xx}  errors ${window.errors}` +
              `  cpu/req ${cpu} µs  load ${window.loadAverage.toFixed(1)}`,
          );
        }
      }
      // No database here: the summary's PostgreSQL CPU is undefined and left out of the JSON.
      for (const [mounting, list] of windows)
        runs.push({ mounting, connections, ...summarizeWindows(list) });
    }
    return runs;
  } finally {
    for (const app of apps) {
      await drain(app);
      await app.app.close();
    }
  }
}

/** The mountings against the baseline, one row per mounting and connection count. */
export function clsMountingTable(runs: ClsMountingRun[]): string {
  const lines = [
    '| mounting | connections | 2xx req/s | per window | / no nestjs-cls | app CPU µs/req | app CPU − no nestjs-cls, µs/req | p50 ms | p99 ms | non-2xx | errors |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of runs) {
    const base = runs.find((b) => b.mounting === 'none' && b.connections === r.connections);
    const added =
      base?.appCpuUsPerRequest !== undefined && r.appCpuUsPerRequest !== undefined
        ? r.appCpuUsPerRequest - base.appCpuUsPerRequest
        : undefined;
    lines.push(
      `| ${r.mounting} | ${r.connections} | ${fmt(r.requestsPerSecond)} | ` +
        `${r.windows.map((w) => fmt(w.requestsPerSecond)).join(' / ')} | ` +
        `${base ? `${fmt(r.requestsPerSecond / base.requestsPerSecond, 2)}×` : '–'} | ` +
        `${fmt(r.appCpuUsPerRequest)} | ${r.mounting === 'none' || added === undefined ? '–' : `${added >= 0 ? '+' : ''}${fmt(added)}`} | ` +
        `${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.non2xx} | ${r.errors} |`,
    );
  }
  lines.push('');
  for (const mounting of CLS_MOUNTINGS)
    lines.push(`- ${mounting}: ${CLS_MOUNTING_LABELS[mounting]}`);
  return lines.join('\n');
}

/**
 * The timing `npm run bench` uses, with the HTTP benchmark's connection counts: about 30 s in all
 * on a busy machine, about 15 s with BENCH_QUICK (one round, no warm-up). Whole seconds: autocannon ends a window on its next one-second
 * tick (a 1.2 s window runs 2 s), and starting its worker costs ~0.3 s more. These apps are cheap
 * and start cold (alone, one's CPU per request still fell by half over its first ~4 s of load): the
 * warm-up and the reversed second round keep that off the comparison, and in `npm run bench` the
 * HTTP benchmark has warmed Nest's and Express's code before.
 */
export function clsMountingSettings(quick: boolean): ClsMountingSettings {
  return {
    connections: [10, 50],
    windowSeconds: 1,
    rounds: quick ? 1 : 2,
    warmupSeconds: quick ? 0 : 1,
    tenants: 16,
  };
}

/** `npx tsx bench/cls-mounting.ts`: this measurement alone, printed, nothing saved. */
async function runAlone(): Promise<void> {
  const started = Date.now();
  const log = (line: string) =>
    console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const runs = await runClsMountingBench(clsMountingSettings(process.env.BENCH_QUICK === '1'), log);
  console.log(`\n## nestjs-cls mounting\n\n${clsMountingTable(runs)}\n`);
  log('done');
}

if (require.main === module) {
  runAlone().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
