/**
 * The driver adapter the Prisma CLI uses (through the app's `prisma.config.ts`) to run the WebAssembly schema
 * engine over DIRECT_URL. Never used by the application at run time.
 *
 * Used with Prisma 6.19's CLI and its WebAssembly schema engine, over `@prisma/adapter-pg` 6.19 or 7.x
 * (the demo migrates with 7.10's). The adapter works for queries but has four defects on the
 * migrate path; this factory wraps it and fixes each one:
 * 1. Introspection reads catalog columns of PostgreSQL's internal types `"char"` (OID 18) and `name`
 *    (OID 19), which the adapter cannot describe ("Column type 'char' could not be deserialized",
 *    prisma/prisma#27403). They are text on the wire, so the CLI's connection reports them as `text`.
 * 2. The shadow database pool is built as `{ ...config, database }`, but node-postgres lets a
 *    `connectionString` win over `database`, so the "shadow" would be the real database. The URL is
 *    parsed into discrete fields here.
 * 3. Its shadow clean-up drops the database before closing the pool ("is being accessed by other
 *    users"). Here the pool closes first.
 * 4. `executeScript` splits a migration on every `;`, breaking functions and `DO` blocks. Here a
 *    migration is sent whole as one simple query, which PostgreSQL also runs atomically, and a
 *    failure is reported as a driver error so that Prisma shows PostgreSQL's own message.
 *
 * And one defect of the schema engine itself: PostgreSQL 18 (the embedded server) lists NOT NULL
 * constraints in pg_constraint (`contype 'n'`), which its constraint query lets through and then
 * cannot handle (prisma/prisma#29635); they are filtered out as they are on earlier versions.
 */
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';

const TEXT_OID = 25;
const CATALOG_ONLY_OIDS = new Set([18, 19]);
const CONSTRAINT_FILTER = "contype NOT IN ('p', 'u', 'f')";

/** The schema engine's constraint query, with PostgreSQL 18's NOT NULL constraints left out. */
function withoutNotNullConstraints(query: unknown): unknown {
  if (typeof query === 'string' && query.includes(CONSTRAINT_FILTER)) {
    return query.replace(CONSTRAINT_FILTER, "contype NOT IN ('p', 'u', 'f', 'n')");
  }
  const text = (query as { text?: unknown } | null)?.text;
  if (typeof text === 'string' && text.includes(CONSTRAINT_FILTER)) {
    return { ...(query as object), text: withoutNotNullConstraints(text) };
  }
  return query;
}

function describeCatalogTypesAsText(value: unknown): void {
  for (const result of Array.isArray(value) ? value : [value]) {
    for (const field of (result as pg.QueryResult | undefined)?.fields ?? []) {
      if (CATALOG_ONLY_OIDS.has(field.dataTypeID)) field.dataTypeID = TEXT_OID;
    }
  }
}

/** A node-postgres client that describes `"char"` and `name` columns as `text`. */
class CatalogSafeClient extends pg.Client {
  // node-postgres' `query` has many overloads (promise or callback); this override forwards each
  // one unchanged and only rewrites the described column types of the result.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    args[0] = withoutNotNullConstraints(args[0]);
    const last: unknown = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, value: unknown) => {
        if (!error) describeCatalogTypesAsText(value);
        (last as (e: unknown, v: unknown) => void)(error, value);
      };
    }
    // eslint-disable-next-line @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any
    const result: unknown = (super.query as (...a: any[]) => unknown)(...args);
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        describeCatalogTypesAsText(value);
        return value;
      });
    }
    return result;
  }
}

/** Parses a postgres URL into discrete node-postgres fields (see defect 2 above). */
export function toPoolConfig(url: string): pg.PoolConfig {
  const parsed = new URL(url);
  const sslmode = parsed.searchParams.get('sslmode');
  return {
    host: decodeURIComponent(parsed.hostname),
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    ssl:
      sslmode && sslmode !== 'disable'
        ? { rejectUnauthorized: sslmode === 'verify-full' }
        : undefined,
    max: 2,
    Client: CatalogSafeClient,
  };
}

function withWholeScripts(adapter: SqlDriverAdapter, pool: pg.Pool, dispose?: () => Promise<void>) {
  return new Proxy(adapter, {
    get(target, property, receiver) {
      if (property === 'executeScript') {
        return async (script: string) => {
          try {
            await pool.query(script);
          } catch (error) {
            const e = error as pg.DatabaseError;
            throw new DriverAdapterError({
              kind: 'postgres',
              code: e.code ?? 'N/A',
              severity: e.severity ?? 'N/A',
              message: e.message,
              detail: e.detail,
              column: e.column,
              hint: e.hint,
            });
          }
        };
      }
      if (property === 'dispose' && dispose) return dispose;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

/** Creates the CLI's migrate-only adapter factory for the given direct (owner) connection URL. */
export function createMigrateAdapter(directUrl: string): SqlMigrationAwareDriverAdapterFactory {
  const config = toPoolConfig(directUrl);

  const open = async (database: string) => {
    const pool = new pg.Pool({ ...config, database });
    const adapter = await new PrismaPg(pool, { disposeExternalPool: true }).connect();
    return { pool, adapter };
  };

  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    async connect() {
      const { pool, adapter } = await open(config.database as string);
      return withWholeScripts(adapter, pool);
    },
    async connectToShadowDb() {
      const admin = await open(config.database as string);
      const shadowName = `prisma_migrate_shadow_db_${randomUUID()}`;
      await admin.pool.query(`CREATE DATABASE "${shadowName}"`);
      const shadow = await open(shadowName);
      return withWholeScripts(shadow.adapter, shadow.pool, async () => {
        await shadow.adapter.dispose();
        try {
          await admin.pool.query(`DROP DATABASE IF EXISTS "${shadowName}"`);
        } finally {
          await admin.adapter.dispose();
        }
      });
    },
  };
}
