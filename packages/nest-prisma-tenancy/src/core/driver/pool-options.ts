/** Connection pool settings of the tenant driver (node-postgres), with their defaults. */
export interface TenantPoolOptions {
  /** Maximum connections. Default: 10. */
  max?: number;
  /** How long a query waits for a free connection (or a new one) before failing, ms. Default: 5000. */
  connectionTimeoutMillis?: number;
  /** Idle connections are closed after this long, ms. Default: 10000. */
  idleTimeoutMillis?: number;
  /**
   * Longest run of one statement, ms: enforced by PostgreSQL (`statement_timeout`, pinned on every
   * transaction of the tenant pool, so it holds behind PgBouncer too), with a client-side backstop
   * 2 s later that discards the connection. 0: none. Default: 15000.
   */
  queryTimeoutMillis?: number;
  /**
   * Longest idle time inside a transaction, ms (`idle_in_transaction_session_timeout`, pinned on
   * every transaction): PostgreSQL ends a transaction left open by a stuck request instead of
   * holding locks and a connection. 0: none. Default: 30000.
   */
  idleInTransactionTimeoutMillis?: number;
  /**
   * Database operations (queries and transactions) one tenant may run at once, so one busy
   * workspace cannot take the whole pool; more wait up to `connectionTimeoutMillis`, then fail
   * with TenantBusyError (503). Work without a tenant shares one such share. Default:
   * half of `max`, rounded up.
   */
  maxConnectionsPerTenant?: number;
  /**
   * How the signed tenant setting is sent:
   * - `'auto'`: `'set_local'` when the database is a Citus coordinator (the `citus` extension is
   *   installed), `'set_config'` otherwise; asked once, on the pool's first connection.
   * - `'set_config'`: `SELECT set_config('<sql.setting>', $1, true)` pipelined with the query,
   *   the value as a bind parameter. For PostgreSQL.
   * - `'set_local'`: `BEGIN`, `SET LOCAL <sql.setting> = '<value>'`, the query and `COMMIT`,
   *   pipelined before one Sync (one round trip). For Citus, which propagates `SET LOCAL` (not
   *   `set_config`) to the workers when `citus.propagate_set_commands = 'local'`. `SET` takes no
   *   bind parameter, so the value (strictly validated first) is in the query text, where
   *   `pg_stat_activity` (and `pg_stat_statements`, `log_statement`) show it until it expires.
   * Default: `'auto'`.
   */
  settingMode?: SettingMode;
}

/** How the tenant pool sends the signed tenant setting (see `TenantPoolOptions.settingMode`). */
export type SettingMode = 'auto' | 'set_config' | 'set_local';

/** Pool settings with every default applied. */
export type ResolvedPoolOptions = Required<TenantPoolOptions>;

/** Applies the documented pool defaults; the tenant pool and the system client's pool share them. */
export function resolvePoolOptions(pool: TenantPoolOptions = {}): ResolvedPoolOptions {
  const max = pool.max ?? 10;
  return {
    max,
    connectionTimeoutMillis: pool.connectionTimeoutMillis ?? 5000,
    idleTimeoutMillis: pool.idleTimeoutMillis ?? 10_000,
    queryTimeoutMillis: pool.queryTimeoutMillis ?? 15_000,
    idleInTransactionTimeoutMillis: pool.idleInTransactionTimeoutMillis ?? 30_000,
    maxConnectionsPerTenant: Math.max(1, pool.maxConnectionsPerTenant ?? Math.ceil(max / 2)),
    settingMode: pool.settingMode ?? 'auto',
  };
}
