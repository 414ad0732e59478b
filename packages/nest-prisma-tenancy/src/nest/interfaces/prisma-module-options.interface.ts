import type { TenantPoolOptions } from '../../core/driver/pool-options';
import type { TenantPrismaClient } from '../../core/client/tenant-extension';
import type { IdentityOptions } from '../../core/client/tenant-models';
import type { TenancyAuthOptions } from './tenancy-auth-options.interface';
import type { TenancySqlNamesOptions } from '../../core/sql/tenancy-sql-names';
import type {
  PrismaClientClass,
  PrismaNamespaceLike,
} from '../../core/client/prisma-client-schema';

/** A Prisma Client log level. */
export type PrismaLogLevel = 'info' | 'query' | 'warn' | 'error';

/** How bearer tokens are verified by `@TenantScoped()` / `@Authenticated()`. */
export interface TenancyJwtOptions {
  /** HS256 secret. Default: `process.env.JWT_SECRET`. At least one of `secret`/`publicKey` is needed. */
  secret?: string;
  /** PEM public key; when set, RS256 tokens are accepted too. Default: `process.env.JWT_PUBLIC_KEY`. */
  publicKey?: string;
  /** Required `iss`, when set. Default: `process.env.JWT_ISSUER` (unset: not checked). */
  issuer?: string;
  /** Required `aud`, when set. Default: `process.env.JWT_AUDIENCE` (unset: not checked). */
  audience?: string;
  /** Allowed clock skew for `exp`/`nbf`, in seconds. Default: 5. */
  clockToleranceSeconds?: number;
}

/** Options of `PrismaModule.forRoot()` / `forRootAsync()`. Every option has a default. */
export interface PrismaModuleOptions extends TenancyAuthOptions {
  /**
   * Your generated `PrismaClient` class, e.g. `import { PrismaClient } from '@prisma/client'` or
   * from the `output` path of your generator (`prisma-client-js` with `engineType = "client"`, or
   * `prisma-client`). PrismaModule builds one instance with the tenant driver adapter and reads the
   * schema from it. Checked at start-up. Default: `PrismaClient` of `@prisma/client`.
   */
  client?: PrismaClientClass;
  /**
   * Your generated `Prisma` namespace. Optional: only its `dmmf` is read, and only when the client
   * instance carries no runtime data model. Default: none.
   */
  prismaNamespace?: PrismaNamespaceLike;
  /**
   * Runtime connection URL, as the runtime role (`sql.runtimeRole`, default `app_runtime`;
   * pooled: PgBouncer / Supabase transaction mode is fine). Default: `process.env.DATABASE_URL`.
   */
  url?: string;
  /**
   * Connection of the logged cross-tenant system client, as the admin role (`sql.adminRole`,
   * default `app_admin`).
   * Default: `process.env.SYSTEM_DATABASE_URL`; unset means the system client refuses to run.
   */
  systemUrl?: string;
  /**
   * Prisma log levels, sent to Nest's Logger (context `PrismaModule`). Prisma's `error` events
   * go to `debug`: Prisma emits one for every failed query, also for an expected 404 (P2025); the
   * error is thrown to the caller, and PrismaExceptionFilter logs those that answer 5xx.
   * Default: `['query', 'error', 'warn']` when NODE_ENV is `development` (or unset), else `['error', 'warn']`.
   */
  log?: PrismaLogLevel[];
  /** The tenant column field of tenant-owned models. Default: `'workspaceId'`. */
  tenantField?: string;
  /**
   * Tenant-owned models. Default: derived from the schema, every model that has `tenantField`.
   * Listing them explicitly makes start-up fail if the schema and the list disagree.
   */
  tenantModels?: string[];
  /** The tenant root model, whose `id` is the tenant id. Default: `'Workspace'` when it exists. */
  tenantRootModel?: string | null;
  /**
   * Identity scoping of the tenant client, for the global models that hold users and their
   * credentials. Default: on, fitting an Auth.js-shaped schema: `User` reads see the current user
   * and the current workspace's members, `User` writes reach only the current user's row (no
   * deletes), `Account`/`Session` rows only the current user's, `VerificationToken` is refused, and
   * token/secret/password/hash fields are never returned or filtered on (each part's default is on
   * IdentityOptions: `userModel` `'User'`, `membershipModel` `'WorkspaceMember'`, `userField`
   * `'userId'`, `userOwnedModels` derived, `systemOnlyModels` `['VerificationToken']`,
   * `secretFields` derived). `false` leaves the global models unscoped.
   */
  identity?: false | IdentityOptions;
  /** The JWT claim holding the workspace id (must be a UUID). Default: `'workspaceId'`. */
  tenantClaim?: string;
  /** Token verification. Default: from JWT_SECRET, JWT_PUBLIC_KEY, JWT_ISSUER, JWT_AUDIENCE. */
  jwt?: TenancyJwtOptions;
  /**
   * Whether the caller must still be a member of the claimed workspace, checked on every
   * `@TenantScoped()` request (one indexed query; see bench/RESULTS.md for its cost). `true` uses
   * the `WorkspaceMember` model (`userId` = token `sub`); a function decides itself.
   * Default: `true`.
   */
  verifyMembership?:
    | boolean
    | ((context: {
        tenantId: string;
        userId: string;
        prisma: TenantPrismaClient;
      }) => Promise<boolean>);
  /**
   * Remember a successful membership check for this long (ms), per user and workspace. A removed
   * member then keeps access until the entry expires, so the default re-checks every request.
   * Default: 0 (no cache).
   */
  membershipCacheTtlMs?: number;
  /**
   * Connection attempts at start-up before giving up, one warning line per retry. A permanent
   * failure (no such database or role, a wrong password, pg_hba.conf, an authentication method or
   * TLS setting the client cannot meet) is not retried: DatabaseUnreachableError says what to fix
   * at once. Default: 5.
   */
  connectRetries?: number;
  /** Delay before the first retry, doubled each time (capped at 5 s), in ms. Default: 500. */
  connectRetryDelayMs?: number;
  /**
   * What to do when the start-up check finds that Row-Level Security would not isolate tenants:
   * it proves, as the runtime role in a rolled-back transaction, that an unknown, missing or forged
   * tenant setting shows no tenant rows and that a write for another tenant is refused, and checks
   * the catalog (superuser or BYPASSRLS role, a table without RLS or FORCE, a missing policy, role
   * settings that weaken RLS, plain foreign keys between tenant tables). Default: `'error'`
   * (refuse to start).
   */
  rlsCheck?: 'error' | 'warn' | 'off';
  /** Connection pool settings (node-postgres). */
  pool?: TenantPoolOptions;
  /**
   * Secret that signs the tenant setting PostgreSQL's Row-Level Security verifies (at least 32
   * characters; the same for every app on the database). PostgreSQL stores a key derived from it,
   * which the application roles cannot read, so SQL running as the runtime role cannot forge a
   * tenant. Default: `process.env.TENANT_SETTING_SECRET`; required.
   */
  settingSecret?: string;
  /**
   * How long a signed tenant setting stays valid, seconds, measured by PostgreSQL's clock at the
   * start of the transaction that uses it (so it also bounds the clock skew tolerated between app
   * and database). Installed with the key on first start. A whole number from 60 (signed values are
   * reused for up to 20 s) to 86400; InvalidPrismaModuleOptionsError otherwise. Default: 300.
   */
  settingMaxAgeSeconds?: number;
  /**
   * The names of the library's SQL objects, exactly as the RLS migration was generated with them
   * (`nest-prisma-tenancy rls generate --sql-setting ... --sql-tenant-function ...`): the custom
   * setting the driver sets, the functions the installer and the start-up check call, the private
   * key schema and the roles the check expects. Lower-case SQL identifiers; checked at start-up
   * (InvalidPrismaModuleOptionsError), and a database whose objects have other names refuses to
   * start (SqlNamesMismatchError). Defaults, each: `functionSchema` `'public'`, `setting`
   * `'app.workspace_id'`, `tenantFunction` `'current_workspace_id'`, `userFunction`
   * `'current_app_user_id'`, `claimFunction` `'tenancy_verified_claim'`, `installKeyFunction`
   * `'tenancy_install_setting_key'`, `enableFunction` `'enable_tenant_rls'`, `privateSchema`
   * `'tenancy_private'`, `runtimeRole` `'app_runtime'`, `adminRole` `'app_admin'`
   * (DEFAULT_SQL_NAMES).
   */
  sql?: TenancySqlNamesOptions;
}

/** For `forRootAsync({ useClass })` / `useExisting`: a class that creates the options. */
export interface PrismaOptionsFactory {
  createPrismaOptions(): PrismaModuleOptions | Promise<PrismaModuleOptions>;
}
