/**
 * The benchmark (`npm run bench`, entry bench/run.ts): the tenancy library's cost, measured.
 *
 * 1. Drops, recreates, migrates and seeds a dedicated database (bench/database.ts).
 * 2. Client level: node-postgres vs plain Prisma vs the tenant client, 10 callers and 1 caller,
 *    interleaved rounds, plus profile cases that split the tenant path's cost (bench/client-bench.ts).
 * 3. HTTP: `GET /approval-items/:id` through the full demo app, the same without the membership
 *    check, and a plain-Prisma Nest app, with autocannon (bench/http-bench.ts).
 * 4. Prints Markdown tables and saves the raw results in bench/results/ (git-ignored).
 *
 * Environment: DIRECT_URL (server to use; default postgresql://postgres@127.0.0.1:5432),
 * BENCH_DATABASE (default tenancy_bench), BENCH_QUICK=1 (short windows, for trying changes),
 * BENCH_SKIP_HTTP=1, BENCH_SKIP_CLIENT=1.
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
} from './client-bench';
import { PostgresCpuProbe } from './cpu';
import { prepareBenchDatabase, type SeedSettings } from './database';
import { runHttpBench, type HttpBenchSettings } from './http-bench';
import { checkListPlans, type ListPlan } from './plan-check';
import {
  clientTables,
  describeEnvironment,
  httpTables,
  planTable,
  saveResults,
  traceTable,
} from './report';

const quick = process.env.BENCH_QUICK === '1';

const SEED: SeedSettings = {
  database: process.env.BENCH_DATABASE?.trim() || 'tenancy_bench',
  workspaces: 10,
  itemsPerWorkspace: 1000,
  membersPerWorkspace: 5,
  updateItemsPerWorkspace: 100,
};

const CLIENT: ClientBenchSettings = {
  concurrencies: [10, 1],
  rounds: (c) => (quick ? 1 : c > 1 ? 4 : 3),
  durationMs: (c) => (quick ? 1000 : c > 1 ? 1000 : 600),
  // The first window of a case also warms its pool and the JIT; later ones only refill the pipeline.
  warmupMs: (c, round) => (quick ? 300 : round === 1 ? (c > 1 ? 750 : 300) : c > 1 ? 250 : 150),
};

const HTTP: HttpBenchSettings = {
  connections: [10, 50],
  windowSeconds: quick ? 3 : 5,
  windows: quick ? 1 : 2,
  warmupSeconds: 1,
  ids: 200,
};

const started = Date.now();
const log = (line: string) =>
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);

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

  let client: Awaited<ReturnType<typeof runClientBench>> = [];
  let traces: BurstTrace[] = [];
  let plans: ListPlan[] = [];
  if (process.env.BENCH_SKIP_CLIENT !== '1') {
    log('client-level benchmark');
    const clients = new BenchClients(db);
    try {
      await clients.connect();
      await checkClients(clients, db.workspaces);
      traces = await traceBursts(clients, db.workspaces);
      for (const t of traces) log(`  ${t.path.padEnd(14)} ${t.burst}: ${t.sent}`);
      client = await runClientBench(
        buildCases(clients, db.workspaces, CLIENT.concurrencies),
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
  }

  let http: Awaited<ReturnType<typeof runHttpBench>> = [];
  if (process.env.BENCH_SKIP_HTTP !== '1') {
    log('HTTP benchmark');
    http = await runHttpBench(db, HTTP, postgres, log);
  }

  const file = await saveResults({
    date: new Date().toISOString(),
    environment,
    settings: {
      seed: SEED,
      client: {
        concurrencies: CLIENT.concurrencies,
        rounds: Object.fromEntries(CLIENT.concurrencies.map((c) => [c, CLIENT.rounds(c)])),
        durationMs: Object.fromEntries(CLIENT.concurrencies.map((c) => [c, CLIENT.durationMs(c)])),
        warmupMs: Object.fromEntries(
          CLIENT.concurrencies.map((c) => [
            c,
            { first: CLIENT.warmupMs(c, 1), later: CLIENT.warmupMs(c, 2) },
          ]),
        ),
        poolMax: 10,
      },
      http: HTTP,
      quick,
      embeddedPostgres: db.embedded,
      ownerIsSuperuser: db.ownerIsSuperuser,
    },
    traces,
    client,
    plans,
    http,
  });
  if (traces.length > 0) console.log(`\n## Statements sent\n\n${traceTable(traces)}`);
  if (client.length > 0) console.log(`\n## Client level\n\n${clientTables(client)}`);
  if (plans.length > 0) console.log(`\n## List query plans\n\n${planTable(plans)}`);
  if (http.length > 0) console.log(`\n## HTTP\n\n${httpTables(http)}`);
  console.log(`\nRaw results: ${file}`);
  log('done');
  await postgres?.close();
  await db.stop();
}
