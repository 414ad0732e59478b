import pg from 'pg';

/** The parts of node-postgres' connection a query writes protocol messages to. */
interface PgConnection {
  stream: { cork?: () => void; uncork?: () => void };
  sync(): void;
  parse(message: { text: string; name?: string; types?: unknown[] }): void;
  bind(message: { portal?: string; statement?: string; values?: unknown[] }): void;
  execute(message: { portal?: string; rows?: number }): void;
}

/** node-postgres' Query, with the internal members this subclass builds on. */
interface PgQueryInternals {
  prepare(connection: PgConnection): void;
  handleDataRow(message: unknown): void;
  handleCommandComplete(message: unknown, connection: PgConnection): void;
  handleError(error: Error, connection: PgConnection): void;
}

type QueryCallback = (error: Error | null, result?: pg.QueryResult) => void;

const PgQuery = pg.Query as unknown as new (
  config: pg.QueryConfig,
  values: unknown[] | undefined,
  callback: QueryCallback,
) => PgQueryInternals & { submit(connection: pg.Connection): void };

/** A statement pipelined around the query: its result is swallowed. */
export interface PipelinedStatement {
  text: string;
  values?: readonly unknown[];
  /** Replaces the error this statement raises (the query then does not run). */
  mapError?: (error: Error) => Error;
}

/**
 * A node-postgres query that runs with the tenant setting in force, in ONE round trip.
 *
 * It pipelines its prefix statements before a single Sync: a settings statement (`SELECT
 * pg_catalog.set_config('<sql.setting>', $1, true), ...`, see TenantAwarePool; in `set_local`
 * mode `BEGIN` and `SET LOCAL ...`), optionally the request's membership check, the query itself
 * and any closing statements (`COMMIT`). PostgreSQL runs the messages between two Syncs as one
 * implicit transaction (or the explicit one they open), so the transaction-local setting applies
 * to the query and ends with it (safe behind PgBouncer in transaction mode, which hands the server
 * connection on only at the end of a transaction), and an error in any statement skips the rest
 * and rolls all back. The other statements' results are swallowed.
 *
 * This is node-postgres' documented extension point (a `Submittable`, as pg-cursor uses), built on
 * its `Query` so that result parsing, row modes and type parsers behave exactly as for any query.
 */
export class TenantBoundQuery extends PgQuery {
  /** Prefix statements whose CommandComplete has not arrived yet. */
  private pending: number;
  /** True once the query's own CommandComplete arrived: what follows is swallowed. */
  private done = false;

  /**
   * @param prefixes statements sent before the query (`SELECT set_config(...)`, or `BEGIN` and
   *   `SET LOCAL ...`; a membership check), in one Parse/Bind/Execute each.
   * @param after statements sent after the query and before the Sync (`COMMIT`).
   */
  constructor(
    config: pg.QueryConfig,
    values: unknown[] | undefined,
    private readonly prefixes: readonly PipelinedStatement[],
    callback: QueryCallback,
    private readonly after: readonly PipelinedStatement[] = [],
  ) {
    super(config, values, callback);
    this.pending = prefixes.length;
  }

  override submit(connection: pg.Connection): void {
    const conn = connection as unknown as PgConnection;
    const send = (statement: PipelinedStatement) => {
      conn.parse({ text: statement.text, name: '', types: [] });
      conn.bind({ portal: '', statement: '', values: [...(statement.values ?? [])] });
      conn.execute({ portal: '', rows: 0 });
    };
    conn.stream.cork?.();
    try {
      for (const statement of this.prefixes) send(statement);
      // Parse/Bind/Describe/Execute/Sync of the query itself (extended protocol even without
      // values); the statements after it go in before its Sync.
      if (this.after.length > 0) {
        const sync = conn.sync.bind(conn);
        conn.sync = () => {
          for (const statement of this.after) send(statement);
          sync();
        };
        try {
          this.prepare(conn);
        } finally {
          delete (conn as { sync?: unknown }).sync;
        }
      } else {
        this.prepare(conn);
      }
    } finally {
      conn.stream.uncork?.();
    }
  }

  override handleDataRow(message: unknown): void {
    if (this.pending > 0 || this.done) return;
    super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    if (this.pending > 0) {
      this.pending -= 1;
      return;
    }
    if (this.done) return;
    this.done = true;
    super.handleCommandComplete(message, connection);
  }

  /** The error of the statement that failed, mapped by that statement when it is a prefix. */
  override handleError(error: Error, connection: PgConnection): void {
    const failed =
      this.pending > 0 ? this.prefixes[this.prefixes.length - this.pending] : undefined;
    super.handleError(failed?.mapError ? failed.mapError(error) : error, connection);
  }
}
