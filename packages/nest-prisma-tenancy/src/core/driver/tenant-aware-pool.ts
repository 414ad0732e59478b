import pg from 'pg';
import { ConnectionStateError } from '../errors/connection-state.error';
import { DEFAULT_SQL_NAMES, type TenancySqlNames } from '../sql/tenancy-sql-names';
import { isUuid, type PendingMembershipCheck } from '../context/tenant-context';
import { TenantMembershipDeniedError } from '../errors/tenant-membership-denied.error';
import { TenantBoundQuery, type PipelinedStatement } from './tenant-bound-query';
import type { SettingMode } from './pool-options';
import { setLocalSettingSql } from './tenant-setting.literal';
import { detectSettingMode, type ResolvedSettingMode } from './setting-mode';
import { TenantLimiter, type ReleasePermit } from './tenant-limiter';
import type { TenantSettingSigner } from './tenant-setting.signer';

/** Who the current work runs for, as the pool reads it when the driver calls it. */
export interface TenantClaims {
  tenantId?: string;
  userId?: string;
  /** A membership check owed by the current request, sent with its next statement. */
  membership?: PendingMembershipCheck;
}

/** The pipelined statement of a pending membership check: its failure means "not a member". */
function membershipStatement(check: PendingMembershipCheck): PipelinedStatement {
  return {
    text: check.sql,
    values: [],
    mapError: (error) =>
      error instanceof pg.DatabaseError && error.code === '22012'
        ? new TenantMembershipDeniedError(check.tenantId, check.userId)
        : error,
  };
}

/** Marks a pending membership check proved (once). */
function settle(check: PendingMembershipCheck | undefined): void {
  if (!check || check.verified) return;
  check.verified = true;
  check.onVerified?.();
}

/** What the tenant-aware pool needs besides node-postgres' own settings. */
export interface TenantAwarePoolSettings {
  /** The current tenant and user (from the request or job context). */
  claims: () => TenantClaims;
  /** Signs the tenant setting that Row-Level Security verifies. */
  signer: TenantSettingSigner;
  /** The schema that unqualified SQL resolves to (Prisma's `?schema=`, default `public`). */
  schema: string;
  /** Server-side `statement_timeout` of every statement, ms (0: none). */
  statementTimeoutMillis: number;
  /** Server-side `idle_in_transaction_session_timeout` of every transaction, ms (0: none). */
  idleInTransactionTimeoutMillis: number;
  /** Database operations one tenant may run at once. */
  maxConnectionsPerTenant: number;
  /** Longest wait for a tenant's turn before TenantBusyError, ms. */
  tenantWaitMillis: number;
  /**
   * The names of the library's SQL objects (checked, see `resolveSqlNames`): the pool sets
   * `sql.setting`. Default: DEFAULT_SQL_NAMES.
   */
  sql?: TenancySqlNames;
  /** How the signed setting is sent (see `TenantPoolOptions.settingMode`). Default `auto`. */
  settingMode?: SettingMode;
}

/** The statement pipelined before every query outside a transaction (see TenantBoundQuery). */
const pinsSql = (setting: string) =>
  `SELECT pg_catalog.set_config('${setting}', $1, true), ` +
  `pg_catalog.set_config('row_security', 'on', true), ` +
  `pg_catalog.set_config('search_path', $2, true), ` +
  `pg_catalog.set_config('statement_timeout', $3, true)`;
/** The statement pipelined before a transaction's first statement. */
export const claimSql = (setting: string) => `SELECT pg_catalog.set_config('${setting}', $1, true)`;
/**
 * `set_local` mode: the pins without the claim (they only matter on the node the app talks to;
 * the claim goes as `SET LOCAL`, which Citus propagates to the workers).
 */
const LOCAL_PINS_SQL =
  `SELECT pg_catalog.set_config('row_security', 'on', true), ` +
  `pg_catalog.set_config('search_path', $1, true), ` +
  `pg_catalog.set_config('statement_timeout', $2, true)`;

const STATE = Symbol('tenant-connection-state');

/** Layer 2's state of a checked-out connection. */
interface ConnectionState {
  /** The signed setting for this checkout's transaction. */
  setting: string;
  /** True between our BEGIN and the transaction's first statement, which carries the setting. */
  pending: boolean;
  /** The request's pending membership check, sent with the transaction's first statement. */
  membership?: PendingMembershipCheck;
  /** True in `set_local` mode: the claim goes as `SET LOCAL`. */
  local: boolean;
}

type TenantClient = pg.PoolClient & { [STATE]?: ConnectionState };

function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  const text = (config as { text?: unknown } | null)?.text;
  return typeof text === 'string' ? text : undefined;
}

const BEGIN = /^\s*BEGIN\s*;?\s*$/i;
const SET_TRANSACTION = /^\s*SET\s+TRANSACTION\b/i;

/**
 * A node-postgres client for the tenant pool.
 * - Every statement it sends uses the extended protocol, so raw SQL is exactly one statement
 *   (the simple protocol would run `a; b` as two).
 * - A transaction it starts for a checkout pins the session settings that Row-Level Security
 *   depends on (`row_security`, `search_path`, timeouts) in its `BEGIN` round trip, and sends the
 *   signed tenant setting, as a bind parameter, pipelined with the transaction's first statement.
 *   (A `SELECT set_config(...)` right after `BEGIN` would take a snapshot and break Prisma's
 *   `SET TRANSACTION ISOLATION LEVEL`, so the claim waits for the first real statement.)
 */
class TenantAwareClient extends pg.Client {
  /** Set by the pool: the `BEGIN` text with this pool's pinned settings. */
  beginText = 'BEGIN';
  /** Set by the pool: the name of the tenant setting. */
  settingName = DEFAULT_SQL_NAMES.setting;
  /** Set by the pool: the statement that sends the signed setting in `set_config` mode. */
  claimText = claimSql(DEFAULT_SQL_NAMES.setting);

  // node-postgres' `query` has many overloads; this override forwards each one.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...params: any[]): any {
    const args: unknown[] = params;
    const forward = (...a: unknown[]): unknown =>
      (super.query as (...b: unknown[]) => unknown)(...a);
    const first: unknown = args[0];
    if (typeof (first as { submit?: unknown } | null)?.submit === 'function')
      return forward(...args);
    const text = queryText(first);
    if (text === undefined) return forward(...args);
    const state = (this as unknown as TenantClient)[STATE];
    if (state && BEGIN.test(text)) {
      state.pending = true;
      // Our own text, several statements: the simple protocol is meant here.
      return forward(this.beginText, ...args.slice(1));
    }
    const config: pg.QueryConfig & { queryMode?: string } = {
      ...(typeof first === 'string' ? { text: first } : (first as pg.QueryConfig)),
      queryMode: 'extended',
    };
    const values = Array.isArray(args[1]) ? (args[1] as unknown[]) : config.values;
    if (state?.pending && !SET_TRANSACTION.test(text)) {
      state.pending = false;
      const callback = args.find(
        (a): a is (e: Error | null, r?: pg.QueryResult) => void => typeof a === 'function',
      );
      const membership = state.membership;
      const prefixes: PipelinedStatement[] = state.local
        ? [{ text: setLocalSettingSql(this.settingName, state.setting) }]
        : [{ text: this.claimText, values: [state.setting] }];
      if (membership) prefixes.push(membershipStatement(membership));
      const result = new Promise<pg.QueryResult>((resolve, reject) => {
        void forward(
          new TenantBoundQuery(config, values, prefixes, (error, res) => {
            if (error) return reject(error);
            settle(membership);
            resolve(res as pg.QueryResult);
          }),
        );
      });
      if (callback) {
        result.then(
          (r) => callback(null, r),
          (e: Error) => callback(e),
        );
        return undefined;
      }
      return result;
    }
    const rest = args.slice(1).filter((a) => !Array.isArray(a));
    return forward({ ...config, values }, ...rest);
  }
}

/**
 * True for errors after which a connection must not go back to the pool: anything that is not an
 * error reported by PostgreSQL for the statement, and PostgreSQL errors that end the session
 * (FATAL/PANIC, admin shutdown 57P*, connection exceptions 08*).
 */
export function breaksConnection(error: unknown): boolean {
  if (!(error instanceof pg.DatabaseError)) return true;
  return (
    error.severity === 'FATAL' || error.severity === 'PANIC' || /^(57P|08)/.test(error.code ?? '')
  );
}

/**
 * breaksConnection, except for a refused membership check: PostgreSQL reported it for a statement
 * like any other error, so the connection itself is fine.
 */
function fatal(error: unknown): boolean {
  return !(error instanceof TenantMembershipDeniedError) && breaksConnection(error);
}

/** Why a connection coming back to the pool must be discarded, or undefined when it is clean. */
function leftoverState(client: pg.PoolClient): string | undefined {
  const internals = client as unknown as {
    getTransactionStatus?: () => string | null;
    _activeQuery?: unknown;
    _queryQueue?: unknown[];
  };
  if (internals._activeQuery || (internals._queryQueue?.length ?? 0) > 0) return 'still busy';
  const status = internals.getTransactionStatus?.();
  if (status === 'T') return 'inside an open transaction';
  if (status === 'E') return 'inside a failed transaction';
  return undefined;
}

/**
 * The connection pool under the tenant client (layer 2 of the isolation).
 *
 * Every query, with or without a tenant in context (read when the driver calls the pool, before
 * any wait for a free connection), runs with the signed tenant setting of that context and with
 * the settings Row-Level Security depends on pinned for its transaction, at no extra round trip:
 * - a single statement is pipelined with `SELECT set_config(...)` (see TenantBoundQuery);
 * - a transaction (interactive or batch) pins them in its `BEGIN` round trip and sends the setting
 *   with its first statement.
 * Without a tenant the setting is cleared, so no value left on a pooled connection (by a
 * transaction pooler's previous client, or by `set_config(..., false)`) is ever read.
 *
 * A connection that comes back inside a transaction or still busy is discarded, never reused.
 * Each tenant may run at most `maxConnectionsPerTenant` operations at once (TenantBusyError after
 * `tenantWaitMillis`), so one busy workspace cannot starve the others.
 */
export class TenantAwarePool extends pg.Pool {
  readonly limiter: TenantLimiter;
  /** The names of the SQL objects, `settings.sql` or the defaults. */
  readonly sql: TenancySqlNames;
  private readonly pinnedValues: readonly string[];
  private readonly pinsText: string;
  /** The mode in use; undefined until `auto` has asked the database (on the first checkout). */
  private mode: ResolvedSettingMode | undefined;

  constructor(
    config: pg.PoolConfig,
    readonly settings: TenantAwarePoolSettings,
  ) {
    // Checked names (resolveSqlNames): plain lower-case identifiers, safe in statement text.
    const sql = settings.sql ?? DEFAULT_SQL_NAMES;
    const searchPath = `${pg.escapeIdentifier(settings.schema)}, pg_temp`;
    const pins = [
      `SET LOCAL row_security = on`,
      `SET LOCAL search_path = ${searchPath}`,
      `SET LOCAL statement_timeout = ${Math.max(0, Math.floor(settings.statementTimeoutMillis))}`,
      `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(0, Math.floor(settings.idleInTransactionTimeoutMillis))}`,
      // An empty (cleared) claim until the first statement brings the signed one.
      `SET LOCAL ${sql.setting} = ''`,
    ];
    const beginText = ['BEGIN', ...pins].join('; ');
    const claimText = claimSql(sql.setting);
    class Client extends TenantAwareClient {
      override beginText = beginText;
      override settingName = sql.setting;
      override claimText = claimText;
    }
    super({ ...config, Client });
    this.sql = sql;
    const mode = settings.settingMode ?? 'auto';
    this.mode = mode === 'auto' ? undefined : mode;
    this.pinsText = pinsSql(sql.setting);
    this.limiter = new TenantLimiter(settings.maxConnectionsPerTenant, settings.tenantWaitMillis);
    this.pinnedValues = [
      searchPath,
      String(Math.max(0, Math.floor(settings.statementTimeoutMillis))),
    ];
  }

  /** The signed setting for the current context (a cleared one without tenant and user). */
  private currentSetting(): {
    tenantId: string | undefined;
    setting: string;
    membership: PendingMembershipCheck | undefined;
  } {
    const { tenantId, userId, membership } = this.settings.claims();
    const tenant = tenantId !== undefined && isUuid(tenantId) ? tenantId : undefined;
    const user = userId !== undefined && isUuid(userId) ? userId : undefined;
    return {
      tenantId: tenant,
      // Only for exactly the tenant and user the setting is signed for.
      membership:
        membership && membership.tenantId === tenant && membership.userId === user
          ? membership
          : undefined,
      setting:
        tenant === undefined && user === undefined ? '' : this.settings.signer.sign(tenant, user),
    };
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const submittable = typeof (args[0] as { submit?: unknown } | null)?.submit === 'function';
    if (submittable || typeof args[args.length - 1] === 'function') {
      // Callback and Submittable styles are pg-pool's own paths; they still get a clean,
      // extended-protocol client through connect() below, without the pipelined claim.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
      return (super.query as (...a: any[]) => unknown)(...args);
    }
    const config: pg.QueryConfig =
      typeof args[0] === 'string' ? { text: args[0] } : (args[0] as pg.QueryConfig);
    const { tenantId, setting, membership } = this.currentSetting();
    return this.runPipelined(
      tenantId,
      (local) => {
        const prefixes: PipelinedStatement[] = local
          ? [
              { text: 'BEGIN' },
              { text: LOCAL_PINS_SQL, values: this.pinnedValues },
              { text: setLocalSettingSql(this.sql.setting, setting) },
            ]
          : [{ text: this.pinsText, values: [setting, ...this.pinnedValues] }];
        if (membership) prefixes.push(membershipStatement(membership));
        return { prefixes, after: local ? [{ text: 'COMMIT' }] : [] };
      },
      config,
      args[1] as unknown[] | undefined,
    ).then((result) => {
      settle(membership);
      return result;
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override connect(...args: any[]): any {
    if (args.length > 0) {
      // Callback style (pg-pool's own pool.query): a clean connection without a claim.
      const callback = args[0] as (
        err: Error | undefined,
        client?: TenantClient,
        done?: unknown,
      ) => void;
      return super.connect((err, client, done) => {
        if (client) delete (client as TenantClient)[STATE];
        callback(err, client as TenantClient, done);
      });
    }
    const { tenantId, setting, membership } = this.currentSetting();
    return this.checkout(tenantId).then(({ client, done, local }) => {
      client[STATE] = { setting, pending: false, membership, local };
      const release = client.release.bind(client);
      client.release = (error?: Error | boolean) => {
        delete client[STATE];
        done();
        const leftover = error ? undefined : leftoverState(client);
        return release(leftover ? new ConnectionStateError(leftover) : error);
      };
      return client;
    });
  }

  /** A connection and this tenant's permit (released by `done`). */
  private async checkout(
    tenantId: string | undefined,
  ): Promise<{ client: TenantClient; done: ReleasePermit; local: boolean }> {
    const done = await this.limiter.acquire(tenantId);
    let client: TenantClient | undefined;
    try {
      client = (await super.connect()) as TenantClient;
      this.mode ??= await detectSettingMode(client);
      return { client, done, local: this.mode === 'set_local' };
    } catch (error) {
      client?.release(error as Error);
      done();
      throw error;
    }
  }

  /** The mode the pool uses (`auto` resolved), once known: after the first checkout. */
  get settingMode(): ResolvedSettingMode | undefined {
    return this.mode;
  }

  private async runPipelined(
    tenantId: string | undefined,
    statements: (local: boolean) => {
      prefixes: readonly PipelinedStatement[];
      after: readonly PipelinedStatement[];
    },
    config: pg.QueryConfig,
    values: unknown[] | undefined,
  ): Promise<pg.QueryResult> {
    const { client, done, local } = await this.checkout(tenantId);
    const { prefixes, after } = statements(local);
    let failure: unknown;
    // A checked-out client reports a dying connection as an 'error' event; without a listener
    // Node would crash the process. The query itself fails with the same error.
    const onError = (error: Error) => {
      failure ??= error;
    };
    client.on('error', onError);
    try {
      const result = await new Promise<pg.QueryResult>((resolve, reject) => {
        void client.query(
          new TenantBoundQuery(
            config,
            values ?? config.values,
            prefixes,
            (error, res) => (error ? reject(error) : resolve(res as pg.QueryResult)),
            after,
          ),
        );
      }).catch(async (error: unknown) => {
        // `set_local`: an error skips the COMMIT, leaving the explicit transaction open (failed).
        // The error reaches us before the ReadyForQuery that reports it, so the transaction
        // status cannot be read yet: always roll back (node-postgres sends it after that message;
        // a ROLLBACK with no transaction open is only a warning).
        if (local && !fatal(error)) await client.query('ROLLBACK');
        throw error;
      });
      const leftover = leftoverState(client);
      if (leftover) throw new ConnectionStateError(leftover);
      return result;
    } catch (error) {
      failure ??= error;
      throw error;
    } finally {
      client.removeListener('error', onError);
      done();
      // A clean result was checked for leftover state in the try block above.
      client.release(
        failure !== undefined && (fatal(failure) || failure instanceof ConnectionStateError)
          ? (failure as Error)
          : undefined,
      );
    }
  }
}
