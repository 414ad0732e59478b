/**
 * Records what node-postgres sends while a function runs: every `Client#query` call (every pooled
 * query, transaction statement and tenant-bound query goes through it), with its connection.
 * Used once per path, outside the timed runs, to show how many statements and connections one
 * burst of concurrent lookups costs.
 */
import pg from 'pg';

/** One statement sent. */
export interface TracedStatement {
  /** Which connection (numbered in order of first use). */
  connection: number;
  /** The statement, shortened (`SELECT approval_items`, `BEGIN`, ...). */
  text: string;
  /**
   * True when layer 2 pipelined the signed `set_config(...)` before it (TenantBoundQuery): every
   * statement outside a transaction, and the first statement of a transaction.
   */
  tenantBound: boolean;
}

/** What a burst sent. */
export interface Trace {
  statements: TracedStatement[];
  connections: number;
}

function shorten(text: string): string {
  const sql = text.replace(/\s+/g, ' ').trim();
  const table = /\b(?:FROM|INTO|UPDATE)\s+(?:"public"\.)?"?([a-z_]+)"?/i.exec(sql)?.[1];
  const verb = sql.split(' ')[0].replace(/;$/, '').toUpperCase();
  // The tenant pool's BEGIN pins row_security, search_path and the timeouts and clears the
  // setting; the signed setting itself travels with the transaction's first statement.
  if (verb === 'BEGIN') return /SET LOCAL/i.test(sql) ? 'BEGIN; SET LOCAL pins' : 'BEGIN';
  return table ? `${verb} ${table}` : sql.slice(0, 40);
}

function textOf(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  const text = (config as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

/**
 * Runs `fn` with `pg.Client.prototype.query` wrapped, and returns what was sent. Not reentrant;
 * nothing else should query meanwhile.
 */
export async function traceStatements(fn: () => Promise<unknown>): Promise<Trace> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = prototype.query;
  const connections = new Map<object, number>();
  const statements: TracedStatement[] = [];
  prototype.query = function (this: object, ...args: unknown[]): unknown {
    const text = textOf(args[0]);
    if (text !== undefined) {
      if (!connections.has(this)) connections.set(this, connections.size + 1);
      statements.push({
        connection: connections.get(this) as number,
        text: shorten(text),
        tenantBound: (args[0] as object | null)?.constructor?.name === 'TenantBoundQuery',
      });
    }
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    prototype.query = original;
  }
  return { statements, connections: connections.size };
}

/** `BEGIN, 10 × SELECT approval_items (+set_config), COMMIT` style summary, in order. */
export function summarize(trace: Trace): string {
  const parts: string[] = [];
  let previous = '';
  let count = 0;
  const flush = () => {
    if (count > 0) parts.push(count > 1 ? `${count} × ${previous}` : previous);
  };
  for (const s of trace.statements) {
    const label = s.tenantBound ? `${s.text} (+set_config)` : s.text;
    if (label === previous) count++;
    else {
      flush();
      previous = label;
      count = 1;
    }
  }
  flush();
  return `${parts.join(', ')} — ${trace.statements.length} statements on ${trace.connections} connection(s)`;
}
