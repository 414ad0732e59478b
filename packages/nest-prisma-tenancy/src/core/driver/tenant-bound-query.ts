import pg from 'pg';

/** The parts of node-postgres' connection a query writes protocol messages to. */
interface PgConnection {
  stream: { cork?: () => void; uncork?: () => void };
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

/** A statement pipelined before the query: its result is swallowed. */
export interface PipelinedStatement {
  text: string;
  values: unknown[];
  /** Replaces the error this statement raises (the query then does not run). */
  mapError?: (error: Error) => Error;
}

/**
 * A node-postgres query that runs with the tenant setting in force, in ONE round trip.
 *
 * It pipelines its prefix statements before a single Sync: a settings statement (`SELECT
 * pg_catalog.set_config('<sql.setting>', $1, true), ...`, see TenantAwarePool), optionally the
 * request's membership check, and the query itself. PostgreSQL runs the messages between two
 * Syncs as one implicit transaction, so the transaction-local setting applies to the query and
 * ends with it (safe behind PgBouncer in transaction mode, which hands the server connection on
 * only at the end of a transaction), and an error in any statement skips the rest and rolls all
 * back. The prefixes' results are swallowed.
 *
 * This is node-postgres' documented extension point (a `Submittable`, as pg-cursor uses), built on
 * its `Query` so that result parsing, row modes and type parsers behave exactly as for any query.
 */
export class TenantBoundQuery extends PgQuery {
  /** Prefix statements whose CommandComplete has not arrived yet. */
  private pending: number;

  constructor(
    config: pg.QueryConfig,
    values: unknown[] | undefined,
    private readonly prefixes: readonly PipelinedStatement[],
    callback: QueryCallback,
  ) {
    super(config, values, callback);
    this.pending = prefixes.length;
  }

  override submit(connection: pg.Connection): void {
    const conn = connection as unknown as PgConnection;
    conn.stream.cork?.();
    try {
      for (const prefix of this.prefixes) {
        conn.parse({ text: prefix.text, name: '', types: [] });
        conn.bind({ portal: '', statement: '', values: prefix.values });
        conn.execute({ portal: '', rows: 0 });
      }
      // Parse/Bind/Describe/Execute/Sync of the query itself (extended protocol even without values).
      this.prepare(conn);
    } finally {
      conn.stream.uncork?.();
    }
  }

  override handleDataRow(message: unknown): void {
    if (this.pending > 0) return;
    super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    if (this.pending > 0) {
      this.pending -= 1;
      return;
    }
    super.handleCommandComplete(message, connection);
  }

  /** The error of the statement that failed, mapped by that statement when it is a prefix. */
  override handleError(error: Error, connection: PgConnection): void {
    const failed =
      this.pending > 0 ? this.prefixes[this.prefixes.length - this.pending] : undefined;
    super.handleError(failed?.mapError ? failed.mapError(error) : error, connection);
  }
}
