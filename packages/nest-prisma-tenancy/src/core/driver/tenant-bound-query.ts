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
}

type QueryCallback = (error: Error | null, result?: pg.QueryResult) => void;

const PgQuery = pg.Query as unknown as new (
  config: pg.QueryConfig,
  values: unknown[] | undefined,
  callback: QueryCallback,
) => PgQueryInternals & { submit(connection: pg.Connection): void };

/**
 * A node-postgres query that runs with the tenant setting in force, in ONE round trip.
 *
 * It pipelines two statements before a single Sync: a settings statement (`SELECT
 * pg_catalog.set_config('<sql.setting>', $1, true), ...`, see TenantAwarePool) and the query
 * itself. PostgreSQL runs the messages between two Syncs as one implicit transaction, so
 * the transaction-local setting applies to the query and ends with it (safe behind PgBouncer in
 * transaction mode, which hands the server connection on only at the end of a transaction). The
 * first statement's result is swallowed; an error in either rolls both back.
 *
 * This is node-postgres' documented extension point (a `Submittable`, as pg-cursor uses), built on
 * its `Query` so that result parsing, row modes and type parsers behave exactly as for any query.
 */
export class TenantBoundQuery extends PgQuery {
  private settingPending = true;

  constructor(
    config: pg.QueryConfig,
    values: unknown[] | undefined,
    private readonly settingsText: string,
    private readonly settingsValues: unknown[],
    callback: QueryCallback,
  ) {
    super(config, values, callback);
  }

  override submit(connection: pg.Connection): void {
    const conn = connection as unknown as PgConnection;
    conn.stream.cork?.();
    try {
      conn.parse({ text: this.settingsText, name: '', types: [] });
      conn.bind({ portal: '', statement: '', values: this.settingsValues });
      conn.execute({ portal: '', rows: 0 });
      // Parse/Bind/Describe/Execute/Sync of the query itself (extended protocol even without values).
      this.prepare(conn);
    } finally {
      conn.stream.uncork?.();
    }
  }

  override handleDataRow(message: unknown): void {
    if (this.settingPending) return;
    super.handleDataRow(message);
  }

  override handleCommandComplete(message: unknown, connection: PgConnection): void {
    if (this.settingPending) {
      this.settingPending = false;
      return;
    }
    super.handleCommandComplete(message, connection);
  }
}
