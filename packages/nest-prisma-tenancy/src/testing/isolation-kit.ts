/**
 * A reusable test kit that proves tenant isolation for every tenant-owned model of the schema,
 * through the tenant client (layer 1 over layer 2), the tenant driver, and Row-Level Security
 * alone. A model added to the schema is covered without writing a test for it.
 *
 * @example Jest e2e spec of an app (options, client and URLs from the app's PrismaModule):
 * describe('my app', () => {
 *   let app: INestApplication;
 *   beforeAll(async () => { app = await createTestApp(); });
 *   afterAll(() => app.close());
 *
 *   describeTenantIsolation({ module: AppModule, app: () => app });
 * });
 */
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { instantiatePrismaClient } from '../core/client/prisma-client-schema';
import {
  createTenantAdapter,
  runInTenant,
  type TenantPrismaClient,
} from '../core/client/tenant-extension';
import { runWithoutTenant } from '../core/context/tenant-context';
import { detectSettingMode, type ResolvedSettingMode } from '../core/driver/setting-mode';
import { setLocalSettingSql } from '../core/driver/tenant-setting.literal';
import { TenantSettingSigner } from '../core/driver/tenant-setting.signer';
import { qualifiedFunction, type TenancySqlNames } from '../core/sql/tenancy-sql-names';
import { describeError, ISOLATION_CHECKS, type IsolationCheck, type Row } from './isolation.checks';
import type {
  IsolationModelsOptions,
  TenantIsolationOptions,
  TestFramework,
} from './isolation-kit.options';
import { IsolationKitOptionsError } from './isolation-kit-options.error';
import {
  appPrismaSettings,
  resolveKitConnection,
  resolveKitSchema,
  staticPrismaSettings,
} from './isolation-kit.settings';
import { IsolationViolationError } from './isolation-violation.error';
import { generateValue, insertStatement, RowFactory } from './row.factory';
import { SettingNotAcceptedError } from './setting-not-accepted.error';
import {
  loadTenantSchemaCatalog,
  type SqlRow,
  type TenantModelInfo,
  type TenantSchemaCatalog,
} from './tenant-schema.catalog';

/** The calls the checks make on a model delegate (`prisma.approvalItem`), untyped. */
export interface ModelDelegate {
  findMany(args?: object): Promise<Row[]>;
  findFirst(args?: object): Promise<Row | null>;
  findUnique(args: object): Promise<Row | null>;
  count(args?: object): Promise<number>;
  create(args: object): Promise<Row>;
  update(args: object): Promise<Row>;
  delete(args: object): Promise<Row>;
  updateMany(args: object): Promise<{ count: number }>;
  deleteMany(args?: object): Promise<{ count: number }>;
}

/**
 * A client the kit builds from the app's generated PrismaClient class (its driver and admin
 * clients); reach the models with `kit.driverDelegate()` / `kit.adminDelegate()`.
 */
export interface KitPrismaClient {
  $disconnect(): Promise<void>;
}

/** One fixture row of a model, with the tenant it belongs to. */
export interface FixtureRow {
  tenantId: string;
  /** The row as the admin client reads it. */
  row: Row;
  /** The row as stored (column names), as node-postgres reads it. */
  sql: SqlRow;
  /** A filter on the row's primary key (`{ id }`), for `where` of findMany, updateMany, ... */
  where: Row;
  /** The primary key as a WhereUniqueInput, for findUnique, update, delete. */
  whereUnique: Row;
}

/** A row of the model in tenant A and one in tenant B, with B's rows as they were. */
export interface ModelFixture {
  model: TenantModelInfo;
  a: FixtureRow;
  b: FixtureRow;
  /** Every row of the model in B, read as admin when the fixture was made. */
  bSnapshot: Row[];
}

/** The outcome of one check on one model. */
export interface CheckResult {
  model: string;
  check: IsolationCheck;
  passed: boolean;
  error?: IsolationViolationError;
}

/** Columns whose value an update check may change harmlessly, by type. */
const UPDATABLE_TYPES = new Set([
  'text',
  'varchar',
  'bpchar',
  'int2',
  'int4',
  'float4',
  'float8',
  'bool',
  'timestamptz',
  'timestamp',
]);

function delegateOf(client: unknown, model: TenantModelInfo): ModelDelegate {
  const delegate = (client as Record<string, ModelDelegate | undefined>)[model.delegate];
  if (delegate === undefined || typeof delegate.findMany !== 'function') {
    throw new Error(`The client has no model delegate "${model.delegate}" for ${model.name}.`);
  }
  return delegate;
}

/**
 * The kit's state: its connections, the schema catalog, and two tenants A and B. Open it with
 * `TenantIsolationKit.open()`, make fixtures with `createFixture()`, run checks with `runCheck()`
 * (or `assertCheck()`), and `close()` it: that removes both tenants with everything in them.
 * `describeTenantIsolation()` does all of this inside Jest hooks.
 *
 * Use one kit from one test at a time: the runtime connection runs one transaction at a time.
 */
export class TenantIsolationKit {
  /** Tenant A: the checks act as A. */
  readonly tenantA = randomUUID();
  /** Tenant B: the other tenant, whose row the checks target. */
  readonly tenantB = randomUUID();
  private closed = false;

  private constructor(
    readonly catalog: TenantSchemaCatalog,
    readonly tenantClient: TenantPrismaClient,
    /**
     * An unextended instance of the app's client class over `createTenantAdapter(runtimeUrl)`:
     * layer 2 without layer 1.
     */
    readonly driverClient: KitPrismaClient,
    /** An instance of the app's client class as the admin role (adminUrl): sees every tenant. */
    readonly admin: KitPrismaClient,
    private readonly runtimePool: pg.Pool,
    private readonly adminPool: pg.Pool,
    private readonly factory: RowFactory,
    /** Signs the tenant setting for the database checks, as the library does. */
    private readonly signer: TenantSettingSigner,
    /** The names of the library's database objects (the tenant setting, functions, roles). */
    readonly sql: TenancySqlNames,
  ) {}

  /** How the runtime role's tenant setting is sent on this database (asked on first use). */
  private settingMode: ResolvedSettingMode | undefined;

  /**
   * Takes the app's options (from `app` when given, else from `module`, with the kit's own options
   * over them), reads the schema from the app's client class, connects, checks that PostgreSQL
   * accepts the kit's signed tenant setting and creates tenants A and B.
   *
   * @throws NoTenantModelsError when no model is tenant-owned (e.g. a wrong tenantField).
   * @throws IsolationKitOptionsError when an option names a model or field the schema lacks, or
   *   the kit finds no client class or URL.
   * @throws MissingSettingSecretError when no setting secret is found.
   * @throws InvalidSettingSecretError when the secret is shorter than 32 characters.
   * @throws SettingNotAcceptedError when the database does not verify the kit's signed setting.
   * @throws Error when a connection fails; nothing stays open then.
   */
  static async open(options: TenantIsolationOptions): Promise<TenantIsolationKit> {
    const context = options.app ? appPrismaSettings(options.app()) : undefined;
    const settings = context ?? staticPrismaSettings(options);
    const schema = resolveKitSchema(options, settings);
    const { runtimeUrl, adminUrl, settingSecret, sql } = resolveKitConnection(options, settings);
    const signer = new TenantSettingSigner(settingSecret);
    const tenantClient =
      context?.tenantClient?.() ?? (options.tenantClient as () => TenantPrismaClient)();
    const driverClient = instantiatePrismaClient(schema.client, {
      adapter: createTenantAdapter(runtimeUrl, { max: 2, settingSecret, sql }),
    }) as KitPrismaClient;
    const admin = instantiatePrismaClient(schema.client, {
      adapter: new PrismaPg({ connectionString: adminUrl, max: 2 }),
    }) as KitPrismaClient;
    const runtimePool = new pg.Pool({ connectionString: runtimeUrl, max: 1 });
    const adminPool = new pg.Pool({ connectionString: adminUrl, max: 1 });
    const closeAll = async () => {
      await Promise.allSettled([
        driverClient.$disconnect(),
        admin.$disconnect(),
        runtimePool.end(),
        adminPool.end(),
      ]);
    };
    let kit: TenantIsolationKit | undefined;
    try {
      const query = async (text: string, params?: readonly unknown[]) =>
        (await adminPool.query<SqlRow>(text, params as unknown[] | undefined)).rows;
      const catalog = await loadTenantSchemaCatalog(query, schema);
      const factory = new RowFactory(catalog, query);
      kit = new TenantIsolationKit(
        catalog,
        tenantClient,
        driverClient,
        admin,
        runtimePool,
        adminPool,
        factory,
        signer,
        sql,
      );
      await kit.assertSettingAccepted();
      await factory.createTenant(kit.tenantA);
      await factory.createTenant(kit.tenantB);
      return kit;
    } catch (error) {
      await kit?.close().catch(() => undefined);
      await closeAll();
      throw error;
    }
  }

  /** The tenant-owned models the kit checks (the `models` option, or all of them). */
  get models(): readonly string[] {
    return this.catalog.tenantOwned;
  }

  /**
   * Creates a row of `model` in A and one in B (with their required parents, in the same
   * tenant) and snapshots B's rows of the model. Call it again for fresh rows.
   */
  async createFixture(modelName: string): Promise<ModelFixture> {
    const model = this.catalog.model(modelName);
    const a = await this.fixtureRow(model, this.tenantA);
    const b = await this.fixtureRow(model, this.tenantB);
    return { model, a, b, bSnapshot: await this.snapshot(model, this.tenantB) };
  }

  /** Runs one check; a failure is returned (as an IsolationViolationError), not thrown. */
  async runCheck(check: IsolationCheck, fixture: ModelFixture): Promise<CheckResult> {
    try {
      await check.run(this, fixture);
      return { model: fixture.model.name, check, passed: true };
    } catch (error) {
      const detail =
        error instanceof Error && error.name === 'Error' ? error.message : describeError(error);
      return {
        model: fixture.model.name,
        check,
        passed: false,
        error: new IsolationViolationError(
          fixture.model.name,
          `[${check.layer}] ${check.name}`,
          detail,
          {
            cause: error,
          },
        ),
      };
    }
  }

  /**
   * Runs one check and throws its IsolationViolationError when it fails.
   *
   * @throws IsolationViolationError
   */
  async assertCheck(check: IsolationCheck, fixture: ModelFixture): Promise<void> {
    const result = await this.runCheck(check, fixture);
    if (result.error) throw result.error;
  }

  /** Runs `work` as tenant `tenantId` (`runInTenant`). */
  inTenant<T>(tenantId: string, work: () => Promise<T>): Promise<T> {
    return runInTenant(tenantId, work);
  }

  /** Runs `work` with no tenant in context. */
  outsideTenant<T>(work: () => Promise<T>): Promise<T> {
    return runWithoutTenant(() => work());
  }

  /** The tenant client's delegate of the fixture's model. */
  tenantDelegate(fixture: ModelFixture): ModelDelegate {
    return delegateOf(this.tenantClient, fixture.model);
  }

  /** The driver client's delegate of the fixture's model. */
  driverDelegate(fixture: ModelFixture): ModelDelegate {
    return delegateOf(this.driverClient, fixture.model);
  }

  /** The admin client's delegate of the fixture's model. */
  adminDelegate(fixture: ModelFixture): ModelDelegate {
    return delegateOf(this.admin, fixture.model);
  }

  /**
   * Runs `work` on a runtime-role connection inside `BEGIN` with the tenant setting
   * (`sql.setting`, default `app.workspace_id`) set to the value the library would send for
   * `tenantId` (signed with `settingSecret`, transaction-locally; not set when `undefined`), and
   * always rolls back.
   */
  async runtimeSql<T>(
    tenantId: string | undefined,
    work: (sql: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    const client = await this.runtimePool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      if (tenantId !== undefined) {
        const value = this.signer.sign(tenantId, undefined);
        // As the library's pool sends it: set_config stays on a Citus coordinator, SET LOCAL
        // reaches the workers.
        this.settingMode ??= await detectSettingMode(client);
        if (this.settingMode === 'set_local') {
          await client.query(setLocalSettingSql(this.sql.setting, value));
        } else {
          await client.query('SELECT set_config($1, $2, true)', [this.sql.setting, value]);
        }
      }
      return await work(client);
    } finally {
      // A connection that cannot even roll back is dropped rather than reused.
      await client.query('ROLLBACK').catch((error: Error) => {
        broken = error;
      });
      client.release(broken);
    }
  }

  /**
   * Checks that PostgreSQL verifies the kit's signed setting as the runtime role, so that a failing
   * database check means a leak, not a wrong secret.
   *
   * @throws SettingNotAcceptedError
   */
  private async assertSettingAccepted(): Promise<void> {
    const verified = await this.runtimeSql(this.tenantA, async (sql) => {
      const { rows } = await sql.query<{ tenant: string | null }>(
        `SELECT ${qualifiedFunction(this.sql, 'tenantFunction')}()::text AS tenant`,
      );
      return rows[0]?.tenant;
    });
    if (verified !== this.tenantA) throw new SettingNotAcceptedError(this.sql);
  }

  /** True on a Citus coordinator (known once the kit is open). */
  get onCitus(): boolean {
    return this.settingMode === 'set_local';
  }

  /** Every row of `model` in tenant `tenantId`, as admin, ordered by primary key. */
  snapshot(model: TenantModelInfo, tenantId: string): Promise<Row[]> {
    return delegateOf(this.admin, model).findMany({
      where: { [model.tenantField]: tenantId },
      orderBy: model.key.map((k) => ({ [k.field]: 'asc' })),
    });
  }

  /**
   * Prisma create data for a new row like `row` (a stored row of the model): same tenant and
   * parents, new primary key, fresh unique values. NULLs are left out.
   */
  prismaCopyOf(model: TenantModelInfo, row: SqlRow): Row {
    const data: Row = {};
    for (const [column, value] of Object.entries(this.factory.copyOf(model.table, row))) {
      const info = model.table.columns.get(column);
      if (!info?.field || value === null || value === undefined) continue;
      data[info.field] = info.type === 'int8' && !info.isArray ? BigInt(value as string) : value;
    }
    return data;
  }

  /**
   * `foreign` (a stored row of tenant B) with its references to global rows (tables that are
   * not tenant-owned, such as users) taken from `own` (the model's row in A). A write of it as A
   * then names tenant B and nothing else A cannot see, so it must be refused for the tenant
   * alone (Row-Level Security's WITH CHECK), not because B's user is invisible to A.
   */
  crossTenantRow(model: TenantModelInfo, foreign: SqlRow, own: SqlRow): SqlRow {
    const row: SqlRow = { ...foreign };
    for (const fk of model.table.foreignKeys) {
      if (this.catalog.table(fk.table).tenantColumn !== undefined) continue;
      for (const column of fk.columns) row[column] = own[column];
    }
    return row;
  }

  /** `INSERT` of a copy of `row` (see prismaCopyOf) on `sql`. */
  async insertCopy(sql: pg.ClientBase, model: TenantModelInfo, row: SqlRow): Promise<SqlRow> {
    const { sql: text, params } = insertStatement(
      model.table,
      this.factory.copyOf(model.table, row),
    );
    const result = await sql.query<SqlRow>(text, params);
    return result.rows[0];
  }

  /**
   * Update data that changes one plain column (not a key, foreign key, unique or tenant column) to
   * a fresh value; `{}` when the model has none.
   */
  harmlessUpdate(model: TenantModelInfo): Row {
    const { table } = model;
    const excluded = new Set([
      ...table.primaryKey,
      ...table.uniques.flat(),
      ...table.foreignKeys.flatMap((fk) => fk.columns),
      table.tenantColumn,
    ]);
    for (const column of table.columns.values()) {
      if (column.field === undefined || excluded.has(column.name) || column.generated) continue;
      if (column.isArray || column.isEnum || !UPDATABLE_TYPES.has(column.type)) continue;
      return { [column.field]: generateValue(table.name, column) };
    }
    return {};
  }

  /**
   * Removes tenants A and B with everything in them, and the global rows the kit created, then
   * closes every connection the kit opened (not the tenant client, which it was given).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.factory.removeTenant(this.tenantA);
      await this.factory.removeTenant(this.tenantB);
      await this.factory.removeGlobalRows();
    } finally {
      await Promise.allSettled([
        this.driverClient.$disconnect(),
        this.admin.$disconnect(),
        this.runtimePool.end(),
        this.adminPool.end(),
      ]);
    }
  }

  private async fixtureRow(model: TenantModelInfo, tenantId: string): Promise<FixtureRow> {
    const sql = await this.factory.insert(model.table.name, tenantId);
    const where: Row = {};
    for (const { field, column } of model.key) {
      const info = model.table.columns.get(column);
      where[field] = info?.type === 'int8' ? BigInt(sql[column] as string) : sql[column];
    }
    const row = await delegateOf(this.admin, model).findFirst({ where });
    if (row === null)
      throw new Error(
        `The admin client cannot read back the fixture row ${JSON.stringify(where)} of ${model.name}.`,
      );
    const whereUnique =
      model.key.length === 1 ? where : { [model.key.map((k) => k.field).join('_')]: where };
    return { tenantId, row, sql, where, whereUnique };
  }
}

function globalFramework(): TestFramework {
  const g = globalThis as unknown as Partial<TestFramework>;
  if (!g.describe || !g.it || !g.beforeAll || !g.afterAll) {
    throw new Error(
      'describeTenantIsolation() needs describe/it/beforeAll/afterAll: run it under Jest (or Vitest ' +
        'with globals), or pass them as the framework option.',
    );
  }
  return g as TestFramework;
}

/**
 * The tenant-owned models `describeTenantIsolation(options)` generates tests for, read from the
 * app's client class (`module` or `client`) when the tests are collected, without connecting.
 *
 * @throws NoTenantModelsError when no model is tenant-owned (e.g. a wrong tenantField).
 * @throws IsolationKitOptionsError when an option names a model or field the schema lacks, or
 *   there is neither `module` nor `client`.
 */
export function isolationModelsOf(options: IsolationModelsOptions): string[] {
  return resolveKitSchema(options, staticPrismaSettings(options)).models;
}

/**
 * Generates the isolation tests: one `describe` per tenant-owned model (every one in the schema
 * unless `models` is given), each creating a row in tenant A and one in B and checking, as A,
 * that B's row cannot be read, counted, updated, deleted, written into or moved into through the
 * tenant client, the tenant driver or raw SQL under Row-Level Security, and that B's data is
 * unchanged afterwards. See ISOLATION_CHECKS for the list.
 *
 * The models are listed when the test framework collects the tests, from the app's client class:
 * pass `module` (the app's module with `PrismaModule.forRoot()`) or `client`. The clients are
 * resolved in its `beforeAll`, after yours; with `app`, the kit then takes the running app's
 * PrismaModule options and fails if they give other models than those collected.
 *
 * Call it at the top level of a spec file or inside a `describe`.
 *
 * @throws NoTenantModelsError at collection time when no model is tenant-owned: it never
 *   registers an empty suite.
 * @throws IsolationKitOptionsError at collection time when an option names a model or field the
 *   schema lacks, or there is neither `module` nor `client`.
 */
export function describeTenantIsolation(options: TenantIsolationOptions): void {
  const framework = options.framework ?? globalFramework();
  const models = isolationModelsOf(options);
  const { timeout } = options;

  framework.describe(options.name ?? 'tenant isolation', () => {
    let kit: TenantIsolationKit | undefined;
    const opened = (): TenantIsolationKit => {
      if (!kit)
        throw new Error('The isolation kit did not open: see the error of its beforeAll hook.');
      return kit;
    };
    framework.beforeAll(async () => {
      const candidate = await TenantIsolationKit.open(options);
      if (candidate.models.join() !== models.join()) {
        await candidate.close();
        throw new IsolationKitOptionsError(
          `The app's PrismaModule options give the tenant models ${candidate.models.join(', ')}, ` +
            `but the tests were generated for ${models.join(', ')} (from module or client when ` +
            'the tests were collected): pass the module the app is built from, or the same ' +
            'tenantField / tenantModels / tenantRootModel to the kit.',
        );
      }
      kit = candidate;
    }, timeout);
    framework.afterAll(async () => {
      await kit?.close();
    }, timeout);

    for (const model of models) {
      framework.describe(model, () => {
        let fixture: ModelFixture | undefined;
        framework.beforeAll(async () => {
          fixture = await opened().createFixture(model);
        }, timeout);
        for (const check of ISOLATION_CHECKS) {
          framework.it(
            `${check.layer}: ${check.name}`,
            async () => {
              if (!fixture)
                throw new Error(`No fixture for ${model}: see the error of its beforeAll hook.`);
              await opened().assertCheck(check, fixture);
            },
            timeout,
          );
        }
      });
    }
  });
}
