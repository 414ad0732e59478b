/**
 * Turns benchmark results into Markdown tables (printed) and a JSON file (bench/results/, git-ignored).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/database/project-root';
import { median, type BurstTrace, type ClientCaseResult, type Group } from './client-bench';
import { HTTP_VARIANT_LABELS, type HttpRun, type HttpVariant } from './http-bench';
import type { ListPlan } from './plan-check';

/** Where raw results go. */
export const RESULTS_DIR = resolve(PROJECT_ROOT, 'bench', 'results');

const PACKAGES = [
  'prisma',
  '@prisma/client',
  '@prisma/adapter-pg',
  'pg',
  '@nestjs/core',
  'nestjs-cls',
  'autocannon',
  'tsx',
] as const;

/** Versions and machine. */
export interface Environment {
  node: string;
  packages: Record<string, string>;
  postgres: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
}

/** Versions of the runtime, the packages, the server, and the machine's size. */
export async function describeEnvironment(postgres: string): Promise<Environment> {
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) {
    const manifest = await readFile(
      resolve(PROJECT_ROOT, 'node_modules', name, 'package.json'),
      'utf8',
    );
    packages[name] = (JSON.parse(manifest) as { version: string }).version;
  }
  return {
    node: process.version,
    packages,
    postgres,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
}

/** A number with thousands separators and `digits` decimals; `–` when missing. */
export const fmt = (n: number | undefined, digits = 0): string =>
  n === undefined || Number.isNaN(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The result of one case, if it ran. */
export function find(
  results: ClientCaseResult[],
  group: Group,
  path: string,
  c: number,
): ClientCaseResult | undefined {
  return results.find((r) => r.group === group && r.path === path && r.concurrency === c);
}

/** `a / b` with both raw numbers beside it. */
function ratio(a: ClientCaseResult | undefined, b: ClientCaseResult | undefined): string {
  if (!a || !b) return '–';
  return `${fmt(a.opsPerSecond / b.opsPerSecond, 2)}× (${fmt(a.opsPerSecond)} / ${fmt(b.opsPerSecond)})`;
}

/** The client-level tables: every case, then the ratios of the brief. */
export function clientTables(results: ClientCaseResult[]): string {
  const lines: string[] = [];
  lines.push(
    '| case | callers | ops/s (median) | per window | p50 ms | p99 ms | client CPU µs/op | PostgreSQL CPU µs/op | errors |',
  );
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|---:|');
  const sorted = [...results].sort((a, b) => b.concurrency - a.concurrency);
  for (const r of sorted) {
    const p50 = median(r.runs.map((x) => x.p50Ms));
    const p99 = median(r.runs.map((x) => x.p99Ms));
    const errors = r.runs.reduce((s, x) => s + x.errors, 0);
    lines.push(
      `| ${r.group} · ${r.path}${r.main ? '' : ' *(profile)*'} — ${r.label} | ${r.concurrency} | ${fmt(r.opsPerSecond)} | ` +
        `${r.runs.map((x) => fmt(x.opsPerSecond)).join(' / ')} | ${fmt(p50, 2)} | ${fmt(p99, 2)} | ` +
        `${fmt(r.clientCpuUsPerOp)} | ${fmt(r.serverCpuUsPerOp)} | ${errors} |`,
    );
  }
  lines.push('');
  lines.push(
    '| operation | callers | tenant / plain Prisma | plain Prisma / node-postgres | tenant, 10 workspaces / plain | ' +
      'client CPU µs/op (pg · plain · tenant) | PostgreSQL CPU µs/op (pg · plain · tenant) |',
  );
  lines.push('|---|---:|---|---|---|---|---|');
  const concurrencies = [...new Set(results.map((r) => r.concurrency))].sort((a, b) => b - a);
  for (const c of concurrencies) {
    for (const group of ['pk', 'list', 'create', 'update'] as const) {
      const plain = find(results, group, 'plain', c);
      const trio = [find(results, group, 'pg', c), plain, find(results, group, 'tenant', c)];
      lines.push(
        `| ${group} | ${c} | ${ratio(trio[2], plain)} | ${ratio(plain, trio[0])} | ` +
          `${ratio(find(results, group, 'tenant-spread', c), plain)} | ` +
          `${trio.map((r) => fmt(r?.clientCpuUsPerOp)).join(' · ')} | ${trio.map((r) => fmt(r?.serverCpuUsPerOp)).join(' · ')} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '| primary-key profile (vs plain Prisma findUnique) | callers | ratio (ops/s / ops/s) | client CPU µs/op | PostgreSQL CPU µs/op |',
  );
  lines.push('|---|---:|---|---:|---:|');
  for (const c of concurrencies) {
    const plain = find(results, 'pk', 'plain', c);
    for (const path of [
      'plain',
      'plain-noop-ext',
      'plain-and',
      'layer1',
      'layer2',
      'tenant',
      'tenant-spread',
    ]) {
      const r = find(results, 'pk', path, c);
      if (r) {
        lines.push(
          `| ${path} — ${r.label} | ${c} | ${ratio(r, plain)} | ${fmt(r.clientCpuUsPerOp)} | ${fmt(r.serverCpuUsPerOp)} |`,
        );
      }
    }
  }
  return lines.join('\n');
}

/** The HTTP tables: every run, then the ratios against the plain app. */
export function httpTables(runs: HttpRun[]): string {
  const lines: string[] = [];
  lines.push(
    '| app | connections | seconds | 2xx req/s | per window | p50 ms | p99 ms | app CPU µs/req | PostgreSQL CPU µs/req | non-2xx | errors | timeouts | load avg |',
  );
  lines.push('|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    lines.push(
      `| ${r.variant} | ${r.connections} | ${fmt(r.durationSeconds, 1)} | ${fmt(r.requestsPerSecond)} | ` +
        `${r.windows.map((w) => fmt(w.requestsPerSecond)).join(' / ')} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ` +
        `${fmt(r.appCpuUsPerRequest)} | ${fmt(r.serverCpuUsPerRequest)} | ${r.non2xx} | ${r.errors} | ${r.timeouts} | ` +
        `${fmt(r.loadAverage, 1)} |`,
    );
  }
  lines.push('');
  lines.push(
    '| connections | full / plain | no-membership / plain | cached-membership / plain | full / no-membership |',
  );
  lines.push('|---:|---|---|---|---|');
  const get = (v: HttpVariant, c: number) =>
    runs.find((r) => r.variant === v && r.connections === c);
  const r = (a: HttpRun | undefined, b: HttpRun | undefined) =>
    a && b
      ? `${fmt(a.requestsPerSecond / b.requestsPerSecond, 2)}× (${fmt(a.requestsPerSecond)} / ${fmt(b.requestsPerSecond)})`
      : '–';
  for (const c of [...new Set(runs.map((x) => x.connections))]) {
    lines.push(
      `| ${c} | ${r(get('full', c), get('plain', c))} | ${r(get('full-no-membership', c), get('plain', c))} | ` +
        `${r(get('full-cached-membership', c), get('plain', c))} | ${r(get('full', c), get('full-no-membership', c))} |`,
    );
  }
  lines.push('');
  for (const [variant, label] of Object.entries(HTTP_VARIANT_LABELS))
    lines.push(`- ${variant}: ${label}`);
  return lines.join('\n');
}

/** What each path sends for one burst. */
export function traceTable(traces: BurstTrace[]): string {
  const lines = ['| path | calls | sent |', '|---|---|---|'];
  for (const t of traces) lines.push(`| ${t.path} | ${t.burst} | ${t.sent} |`);
  return lines.join('\n');
}

/** The list query's plans. */
export function planTable(plans: ListPlan[]): string {
  const lines = [
    '| role | rows in workspace | execution ms | rows read | sort | index condition |',
    '|---|---:|---:|---:|---|---|',
  ];
  for (const p of plans) {
    lines.push(
      `| ${p.role} | ${p.workspaceRows} | ${fmt(p.executionMs, 3)} | ${p.rowsScanned} | ${p.sorted ? 'yes' : 'no'} | ` +
        `${p.indexConditions.join('; ').replace(/\|/g, '\\|')} |`,
    );
  }
  return lines.join('\n');
}

/** Writes everything to `bench/results/run-<timestamp>.json`; returns the path. */
export async function saveResults(results: object): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = resolve(RESULTS_DIR, `run-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}
