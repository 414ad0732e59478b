/**
 * The benchmark (`npm run bench`, entry bench/run.ts): the tenancy library's cost, measured.
 *
 * 1. Drops, recreates, migrates and seeds a dedicated database (bench/database.ts), then runs every
 *    client path once, unmeasured (warm-up).
 * 2. Client level on loopback: node-postgres, plain Prisma, the tenant client and the two peer
 *    mechanisms (bench/peer-mechanisms.ts), callers in one workspace and spread over ten, plus
 *    profile cases that split the tenant path's cost (bench/client-bench.ts).
 * 3. The same client-level cases with a round-trip time injected between the clients and
 *    PostgreSQL (a delaying proxy, bench/network-latency.ts), measured with `SELECT 1`.
 * 4. HTTP: `GET /approval-items/:id` through the demo app variants and a plain-Prisma Nest app;
 *    then nestjs-cls's middleware, guard and interceptor mountings against no nestjs-cls, in a
 *    minimal app without a database (bench/cls-mounting.ts).
 * 5. Tenant count: the PK lookup with 1, 100 and 10,000 workspaces (bench/tenant-count.ts), last,
 *    as it changes the database (all but the first workspace deleted, then light ones added).
 * 6. Saves the raw results in bench/results/ (git-ignored) and writes bench/RESULTS.md and
 *    bench/latency-chart.svg from them (bench/results-document.ts, bench/chart.ts).
 *
 * Environment: DIRECT_URL (server to use; default postgresql://postgres@127.0.0.1:5432),
 * BENCH_DATABASE (default tenancy_bench), BENCH_QUICK=1 (short windows, for trying changes),
 * BENCH_SKIP_HTTP=1, BENCH_SKIP_CLS=1, BENCH_SKIP_CLIENT=1, BENCH_SKIP_LATENCY=1,
 * BENCH_SKIP_TENANT_COUNT=1, BENCH_NO_DOCUMENT=1 (print only; leave RESULTS.md and the chart as they are).
 */
import { loadDotEnv } from '../src/config/environment';
import {
  BenchClients,
  buildCases,
  checkClients,
  runClientBench,
  traceBursts,
  type BurstTrace,
  type ClientBenchSettings,
  type ClientCase,
  type ClientCaseResult,
} from './client-bench';
import {
  clsMountingSettings,
  clsMountingTable,
  runClsMountingBench,
  type ClsMountingRun,
} from './cls-mounting';
import { PostgresCpuProbe } from './cpu';
import {
  addLightWorkspaces,
  keepOnlyFirstWorkspace,
  prepareBenchDatabase,
  type SeedSettings,
} from './database';
import { runHttpBench, type HttpBenchSettings } from './http-bench';
import { calibrate, startDelayProxy, type CalibratedLatency } from './network-latency';
import { checkListPlans, type ListPlan } from './plan-check';
import {
  clientTables,
  describeEnvironment,
  httpTables,
  planTable,
  saveResults,
  traceTable,
} from './report';
import { writeResultsDocument, type BenchResults, type LatencyLevel } from './results-document';
import { measureVerificationCost, type VerificationCost } from './security-cost';
import { runTenantCountLevel, type Target, type TenantCountLevel } from './tenant-count';

const quick = process.env.BENCH_QUICK === '1';
const skip = (part: string) => process.env[`BENCH_SKIP_${part}`] === '1';

const SEED: SeedSettings = {
  database: process.env.BENCH_DATABASE?.trim() || 'tenancy_bench',
  workspaces: 10,
  itemsPerWorkspace: 1000,
  membersPerWorkspace: 5,
  updateItemsPerWorkspace: 100,
};

const CLIENT: ClientBenchSettings = {
  concurrencies: [10, 1],
  rounds: (c) => (quick ? 1 : c > 1 ? 3 : 2),
  durationMs: (c) => (quick ? 400 : c > 1 ? 650 : 500),
  // The first window of a case also warms its pool and the JIT; later ones only refill the pipeline.
  warmupMs: (c, round) => (quick ? 150 : round === 1 ? (c > 1 ? 250 : 200) : c > 1 ? 200 : 100),
};

/** Unmeasured run of each path at the start, ms. */
const WARMUP_MS = quick ? 150 : 200;

/** 1 caller: the main paths and the peers (the profile cases and the spread at 10 callers only). */
const clientInclude = (c: ClientCase) =>
  c.concurrency > 1 || ['pg', 'plain', 'tenant', 'rls-batch', 'itx'].includes(c.path);

/** Injected round-trip times, ms, and the timing of the cases run through them. */
const LATENCY = {
  // BENCH_QUICK: the 2 ms level only, to stay under 2 minutes.
  rttsMs: quick ? [2] : [0.5, 2],
  settings: {
    concurrencies: [10, 1],
    // One caller waits out every round trip, so its throughput is set by the latency and varies
    // little from one window to the next: one window is enough.
    rounds: (c: number) => (quick || c === 1 ? 1 : 2),
    durationMs: () => (quick ? 400 : 600),
    warmupMs: (_c: number, round: number) => (quick ? 200 : round === 1 ? 300 : 200),
  } satisfies ClientBenchSettings,
  /** The client-level cases but node-postgres and the profiles. */
  include: (c: ClientCase) => c.main && c.path !== 'pg',
};

const TENANT_COUNT = {
  levels: [1, 100, 10_000],
  /** Approval items of each light workspace added for the larger levels. */
  itemsEach: 10,
  settings: {
    concurrencies: [10, 1],
    rounds: () => (quick ? 1 : 2),
    durationMs: () => (quick ? 400 : 600),
    warmupMs: (_c: number, round: number) => (quick ? 150 : round === 1 ? 300 : 150),
  } satisfies ClientBenchSettings,
};

const HTTP: HttpBenchSettings = {
  connections: [10, 50],
  windowSeconds: quick ? 2 : 3.5,
  windows: quick ? 1 : 2,
  warmupSeconds: 1,
  ids: 200,
};

/** nestjs-cls mountings (no database): ~30 s, ~15 s with BENCH_QUICK. */
const CLS = clsMountingSettings(quick);

const started = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

/** Settings as saved with the results. */
function describeSettings(s: ClientBenchSettings) {
  return {
    concurrencies: s.concurrencies,
    rounds: Object.fromEntries(s.concurrencies.map((c) => [c, s.rounds(c)])),
    durationMs: Object.fromEntries(s.concurrencies.map((c) => [c, s.durationMs(c)])),
    warmupMs: Object.fromEntries(
      s.concurrencies.map((c) => [c, { first: s.warmupMs(c, 1), later: s.warmupMs(c, 2) }]),
    ),
  };
}

/** Runs the whole benchmark. */
export async function main(): Promise<void> {
  loadDotEnv();
  const db = await prepareBenchDatabase(SEED, log);
  const environment = await describeEnvironment(db.serverVersion);
  log(
    `node ${environment.node}, prisma ${environment.packages.prisma}, pg ${environment.packages.pg}, ` +
      `PostgreSQL ${environment.postgres}, ${environment.cpus} CPUs, ${environment.memoryGiB} GiB`,
  );
  if (!db.ownerIsSuperuser)
    log('note: the owner is not a superuser; the "no tenancy" paths use app_admin');

  const postgres = await PostgresCpuProbe.open(db.ownerUrl, db.database);
  if (!postgres) log('note: the PostgreSQL processes are not visible here; no server CPU figures');

  // The process's first seconds run Prisma's engine and the JIT cold (CPU per lookup 3-5× the
  // settled figure for the first ~5 s, measured): every path runs once, unmeasured, before any
  // measurement.
  {
    const clients = new BenchClients(db);
    try {
      await clients.connect();
      await runClientBench(
        buildCases(clients, db.workspaces, [10], (c) => c.main),
        { concurrencies: [10], rounds: () => 1, durationMs: () => 0, warmupMs: () => WARMUP_MS },
        undefined,
        () => undefined,
      );
      log('warmed up every path');
    } finally {
      await clients.close();
    }
  }

  let client: ClientCaseResult[] = [];
  let traces: BurstTrace[] = [];
  let plans: ListPlan[] = [];
  const latency: LatencyLevel[] = [];
  if (!skip('CLIENT')) {
    log('client-level benchmark');
    const clients = new BenchClients(db);
    try {
      await clients.connect();
      await checkClients(clients, db.workspaces);
      traces = await traceBursts(clients, db.workspaces);
      for (const t of traces) log(`  ${t.path.padEnd(14)} ${t.burst}: ${t.sent}`);
      client = await runClientBench(
        buildCases(clients, db.workspaces, CLIENT.concurrencies, clientInclude),
        CLIENT,
        postgres,
        log,
      );
      plans = await checkListPlans(db.ownerIsSuperuser ? db.ownerUrl : db.adminUrl, db.runtimeUrl, [
        db.workspaces[0].id,
        db.workspaces[db.workspaces.length - 1].id,
      ]);
    } finally {
      await clients.close();
    }

    if (!skip('LATENCY')) {
      for (const rttMs of LATENCY.rttsMs) {
        const proxy = await startDelayProxy(db.ownerUrl, rttMs);
        try {
          const calibration: CalibratedLatency = await calibrate(proxy, db.ownerUrl);
          log(
            `latency: ${rttMs} ms asked, SELECT 1 median ${calibration.proxied.medianMs.toFixed(2)} ms ` +
              `through the proxy vs ${calibration.direct.medianMs.toFixed(2)} ms direct ` +
              `(injected ${calibration.injectedMs.toFixed(2)} ms, one-way delay ${calibration.oneWayUs} µs)`,
          );
          const clients = new BenchClients(db, proxy.through, false);
          try {
            await clients.connect();
            const proxyCpuBefore = proxy.cpuMs();
            const startedAt = performance.now();
            const results = await runClientBench(
              buildCases(clients, db.workspaces, LATENCY.settings.concurrencies, LATENCY.include),
              LATENCY.settings,
              postgres,
              log,
            );
            const proxyCpuAfter = proxy.cpuMs();
            latency.push({
              rttMs,
              calibration,
              proxyCpuShare:
                proxyCpuBefore !== undefined && proxyCpuAfter !== undefined
                  ? (proxyCpuAfter - proxyCpuBefore) / (performance.now() - startedAt)
                  : undefined,
              results,
            });
          } finally {
            await clients.close();
          }
        } finally {
          await proxy.stop();
        }
      }
    }
  }

  let security: VerificationCost | undefined;
  try {
    security = await measureVerificationCost(db);
    log(
      `verified setting: ${security.verifiedUs.toFixed(1)} µs per call vs ${security.unverifiedUs.toFixed(1)} µs ` +
        `unverified (PostgreSQL, ${security.calls} calls in one statement)`,
    );
  } catch (error) {
    log(
      `verified setting: not measured (${error instanceof Error ? error.message : String(error)})`,
    );
  }

  let http: Awaited<ReturnType<typeof runHttpBench>> = [];
  if (!skip('HTTP')) {
    log('HTTP benchmark');
    http = await runHttpBench(db, HTTP, postgres, log);
  }

  let cls: ClsMountingRun[] = [];
  if (!skip('CLS')) {
    log('nestjs-cls mounting (minimal app, no database)');
    cls = await runClsMountingBench(CLS, log);
  }

  // Tenant count last (it changes the database): one workspace, then 100 and 10,000, back to back.
  const tenantCount: TenantCountLevel[] = [];
  const countLevels = skip('TENANT_COUNT') || !db.ownerIsSuperuser ? [] : TENANT_COUNT.levels;
  if (countLevels.length > 0) {
    await keepOnlyFirstWorkspace(db);
    const targets: Target[] = [{ id: db.workspaces[0].id, itemId: db.workspaces[0].itemIds[0] }];
    const clients = new BenchClients(db, undefined, false);
    try {
      await clients.connect();
      for (const level of countLevels) {
        if (level > targets.length) {
          const before = Date.now();
          const added = await addLightWorkspaces(
            db,
            targets.length,
            level - targets.length,
            TENANT_COUNT.itemsEach,
          );
          targets.push(...added);
          log(`added ${added.length} light workspaces in ${Date.now() - before} ms`);
        }
        tenantCount.push(
          await runTenantCountLevel(
            clients,
            db.workspaces[0],
            targets,
            TENANT_COUNT.settings,
            postgres,
            log,
          ),
        );
      }
    } finally {
      await clients.close();
    }
  }

  const results: BenchResults = {
    date: new Date().toISOString(),
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    environment,
    settings: {
      seed: SEED,
      client: { ...describeSettings(CLIENT), poolMax: 10 },
      latency: { rttsMs: LATENCY.rttsMs, ...describeSettings(LATENCY.settings) },
      tenantCount: {
        levels: countLevels,
        itemsEach: TENANT_COUNT.itemsEach,
        ...describeSettings(TENANT_COUNT.settings),
      },
      http: HTTP,
      cls: CLS,
      quick,
      embeddedPostgres: db.embedded,
      ownerIsSuperuser: db.ownerIsSuperuser,
    },
    traces,
    client,
    plans,
    latency,
    tenantCount,
    security,
    http,
    cls,
  };
  const file = await saveResults(results);
  if (traces.length > 0) console.log(`\n## Statements sent\n\n${traceTable(traces)}`);
  if (client.length > 0) console.log(`\n## Client level\n\n${clientTables(client)}`);
  if (plans.length > 0) console.log(`\n## List query plans\n\n${planTable(plans)}`);
  if (http.length > 0) console.log(`\n## HTTP\n\n${httpTables(http)}`);
  if (cls.length > 0) console.log(`\n## nestjs-cls mounting\n\n${clsMountingTable(cls)}`);
  console.log(`\nRaw results: ${file}`);
  if (process.env.BENCH_NO_DOCUMENT !== '1') {
    const written = await writeResultsDocument(results, file);
    log(`wrote ${written.join(', ')}`);
  }
  log('done');
  await postgres?.close();
  await db.stop();
}
