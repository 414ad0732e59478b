/**
 * The `npm run db:*` commands: validate the environment, resolve the database (the one in
 * DATABASE_URL / DIRECT_URL, or the embedded PostgreSQL when they are unset) and run the Prisma CLI
 * against it: Prisma 7 for `generate` and `studio`, Prisma 6.19's CLI and WebAssembly schema engine
 * for the rest (see `prismaCommand` in src/database/database-bootstrap.ts).
 *
 *   tsx scripts/db.ts <command> [extra Prisma arguments]
 *
 * The embedded PostgreSQL keeps running only while the command runs, unless it was already running.
 */
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import pg from 'pg';
import { loadDotEnv, readEnvironment } from '../src/config/environment';
import { InvalidEnvironmentError } from '../src/config/invalid-environment.error';
import {
  prepareDatabase,
  runPrisma,
  setEmbeddedRolePasswords,
  type PreparedDatabase,
} from '../src/database/database-bootstrap';
import { DatabaseUnreachableError } from 'nest-prisma-tenancy';
import { EmbeddedPostgresError } from '../src/database/embedded-postgres';
import { MigrationFailedError } from '../src/database/migration-failed.error';
import { PRISMA6_SCHEMA } from '../src/database/prisma6-schema';
import { PROJECT_ROOT } from '../src/database/project-root';

interface DbCommand {
  /** One line for the usage text. */
  summary: string;
  /** The Prisma CLI arguments, given the extra arguments passed to the command. */
  prismaArgs(extra: string[]): string[];
  /**
   * Embedded PostgreSQL only: apply pending migrations before running. Off for the commands that
   * manage migrations themselves or report on them.
   */
  migrateFirst: boolean;
  /** Embedded PostgreSQL only: give the runtime roles their local passwords afterwards. */
  refreshesRoles?: boolean;
  /** Ask before running (unless --force or CI), since it destroys data. */
  destructive?: boolean;
  /** Explains Prisma's exit code in one line, when it has a meaning of its own. */
  report?(code: number): string | undefined;
  /**
   * Reads the outcome when Prisma's exit code alone is misleading: returns the code to exit with and
   * what to print. `migrationsBefore` lists prisma/migrations before the run.
   */
  settle?(outcome: {
    code: number;
    extra: string[];
    migrationsBefore: ReadonlySet<string>;
  }): { code: number; message: string } | undefined;
  /** Needs no database (the Prisma 7 CLI, offline). */
  offline?: boolean;
  /**
   * Regenerates the client afterwards with the Prisma 7 CLI: the 6.19 CLI that migrates reads a copy
   * of the schema without generators (src/database/prisma6-schema.ts), so it generates nothing.
   */
  regenerates?: boolean;
  /** Prisma CLI arguments to run first (a failure stops the command), given the extra arguments. */
  before?(extra: string[]): string[] | undefined;
}

const FORCE_FLAGS = new Set(['--force', '-f']);
/** Exit code of a process stopped by Ctrl+C (128 + SIGINT). */
const INTERRUPTED = 130;

const MIGRATIONS_DIR = resolve(PROJECT_ROOT, 'prisma/migrations');

/** The migration folders in prisma/migrations that hold a migration.sql. */
function listMigrations(): Set<string> {
  if (!existsSync(MIGRATIONS_DIR)) return new Set();
  return new Set(
    readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && existsSync(join(MIGRATIONS_DIR, entry.name, 'migration.sql')),
      )
      .map((entry) => entry.name),
  );
}

/**
 * `migrate dev`'s outcomes that its exit code hides:
 * - `--create-only`: the 6.19 WebAssembly engine writes the migration, then exits 1 with "null pointer
 *   passed to rust" (a defect of that engine build). A new migration.sql means it worked.
 * - 130 without a terminal: Prisma wants to reset the database (it differs from the migrations,
 *   e.g. after `db:push`) and cannot ask. It says so above, but 130 reads as Ctrl+C.
 */
function settleMigrateDev({
  code,
  extra,
  migrationsBefore,
}: {
  code: number;
  extra: string[];
  migrationsBefore: ReadonlySet<string>;
}): { code: number; message: string } | undefined {
  if (extra.includes('--create-only') && code !== 0 && code !== INTERRUPTED) {
    const created = [...listMigrations()].filter((name) => !migrationsBefore.has(name));
    if (created.length === 1) {
      return {
        code: 0,
        message:
          `Created prisma/migrations/${created[0]}/migration.sql (not applied). Review it, then apply ` +
          `it with: npm run db:migrate\n(The "null pointer passed to rust" error above is Prisma ` +
          `6.19's WebAssembly schema engine failing after it wrote the file; the file is complete.)`,
      };
    }
  }
  if (code === INTERRUPTED && !process.stdin.isTTY) {
    return {
      code: 1,
      message:
        'db:migrate: Prisma needs to reset the database (it no longer matches the migrations, e.g. ' +
        'after npm run db:push) and there is no terminal to ask on, so nothing was changed. Either ' +
        'run it in a terminal and answer its prompt, or reset explicitly, which DROPS ALL DATA, ' +
        're-applies the migrations and seeds: npm run db:reset -- --force, then npm run db:migrate ' +
        '-- --name <change> to turn the pushed changes into a migration.',
    };
  }
  return undefined;
}

const COMMANDS: Record<string, DbCommand> = {
  generate: {
    summary: 'generate the Prisma Client (prisma generate; also run by npm ci)',
    prismaArgs: (extra) => ['generate', ...extra],
    migrateFirst: false,
    offline: true,
  },
  migrate: {
    summary: 'create a migration from schema changes and apply it (prisma migrate dev)',
    prismaArgs: (extra) => ['migrate', 'dev', ...extra],
    // Pending migrations (e.g. one written with --create-only) are applied by `migrate deploy`
    // first: with some pending, Prisma 6.19's WebAssembly engine fails in `migrate dev`'s
    // data-loss check ("PostgreSQL shadow DB must be provided through an external factory")
    // after applying them. `migrate dev` then only has the schema's new changes to handle.
    before: (extra) => (extra.includes('--create-only') ? undefined : ['migrate', 'deploy']),
    migrateFirst: false,
    refreshesRoles: true,
    regenerates: true,
    settle: settleMigrateDev,
  },
  deploy: {
    summary: 'apply pending migrations (prisma migrate deploy)',
    prismaArgs: (extra) => ['migrate', 'deploy', ...extra],
    migrateFirst: false,
    refreshesRoles: true,
  },
  status: {
    summary: 'show which migrations are applied (prisma migrate status)',
    prismaArgs: (extra) => ['migrate', 'status', ...extra],
    migrateFirst: false,
  },
  studio: {
    summary: 'browse the data (prisma studio)',
    prismaArgs: (extra) => ['studio', ...extra],
    migrateFirst: true,
  },
  push: {
    summary: 'push the schema without a migration, for prototyping (prisma db push)',
    prismaArgs: (extra) => ['db', 'push', ...extra],
    migrateFirst: false,
    refreshesRoles: true,
    regenerates: true,
  },
  reset: {
    summary: 'drop all data, re-apply every migration and seed (prisma migrate reset)',
    prismaArgs: (extra) => [
      'migrate',
      'reset',
      '--force',
      ...extra.filter((a) => !FORCE_FLAGS.has(a)),
    ],
    migrateFirst: false,
    refreshesRoles: true,
    destructive: true,
    regenerates: true,
  },
  seed: {
    summary: 'insert the demo data and print bearer tokens (prisma/seed.ts)',
    prismaArgs: (extra) => ['db', 'seed', ...(extra.length > 0 ? ['--', ...extra] : [])],
    migrateFirst: true,
  },
  drift: {
    summary: 'check that the migrations produce exactly schema.prisma (exit code 2 = drift)',
    prismaArgs: () => [
      'migrate',
      'diff',
      '--from-migrations',
      'prisma/migrations',
      '--to-schema-datamodel',
      // prisma/schema.prisma as the Prisma 6.19 CLI reads it (see src/database/prisma6-schema.ts).
      PRISMA6_SCHEMA,
      '--exit-code',
    ],
    migrateFirst: false,
    report: (code) =>
      code === 0
        ? 'No drift: the migrations produce exactly prisma/schema.prisma.'
        : code === 2
          ? 'Drift: prisma/schema.prisma differs from what the migrations produce (the difference ' +
            'is above). Create a migration for it with: npm run db:migrate -- --name <change>'
          : undefined,
  },
};

/** Errors whose message already says what to fix: printed alone, without a stack. */
const EXPLAINED_ERRORS = [
  InvalidEnvironmentError,
  DatabaseUnreachableError,
  MigrationFailedError,
  EmbeddedPostgresError,
];

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`,
  );
  return `Usage: tsx scripts/db.ts <command> [extra Prisma arguments]\n\nCommands:\n${lines.join('\n')}`;
}

function describeDatabase(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

/** Resolves to true when the user confirmed; false when they declined or could not be asked. */
async function confirmDestruction(url: string): Promise<boolean> {
  const target = describeDatabase(url);
  if (!process.stdin.isTTY) {
    console.error(
      `Refusing to reset ${target} without confirmation: there is no terminal to ask on. ` +
        `Pass --force (npm run db:reset -- --force) to destroy all its data anyway.`,
    );
    return false;
  }
  console.warn(`WARNING: this destroys ALL data in ${target} and re-applies every migration.`);
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await prompt.question('Continue? [y/N] ');
    return ['y', 'yes'].includes(answer.trim().toLowerCase());
  } finally {
    prompt.close();
  }
}

/** `db push` creates no roles: only set their passwords when a migration has created them. */
async function runtimeRolesExist(directUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: directUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query(
      "SELECT 1 FROM pg_roles WHERE rolname IN ('app_runtime', 'app_admin')",
    );
    return rowCount === 2;
  } finally {
    await client.end();
  }
}

/** Runs `prisma generate` with the Prisma 7 CLI (no database). */
async function generate(extra: string[] = []): Promise<number> {
  const { code } = await runPrisma(
    ['generate', ...extra],
    { databaseUrl: '', directUrl: '' },
    'inherit',
  );
  return code;
}

async function run(name: string, command: DbCommand, extra: string[]): Promise<number> {
  loadDotEnv(PROJECT_ROOT);
  if (command.offline) return generate(extra);
  const env = readEnvironment(process.env, { secrets: false });
  // `prisma db seed` and the seed step of `migrate reset` run `tsx` by name.
  process.env.PATH = `${resolve(PROJECT_ROOT, 'node_modules/.bin')}${delimiter}${process.env.PATH ?? ''}`;

  const database: PreparedDatabase = await prepareDatabase(env, { migrate: command.migrateFirst });
  try {
    const forced = extra.some((arg) => FORCE_FLAGS.has(arg)) || Boolean(process.env.CI);
    if (command.destructive && !forced && !(await confirmDestruction(database.directUrl))) {
      console.error(`Aborted: nothing was changed.`);
      return 1;
    }

    // Studio runs until Ctrl+C, which reaches Prisma too; stay alive to stop the embedded server.
    const ignoreInterrupt = () => undefined;
    process.on('SIGINT', ignoreInterrupt);
    const migrationsBefore = listMigrations();
    let code: number;
    try {
      const first = command.before?.(extra);
      ({ code } = first ? await runPrisma(first, database, 'inherit') : { code: 0 });
      if (code === 0) ({ code } = await runPrisma(command.prismaArgs(extra), database, 'inherit'));
    } finally {
      process.off('SIGINT', ignoreInterrupt);
    }

    const settled = command.settle?.({ code, extra, migrationsBefore });
    const explanation = settled?.message ?? command.report?.(code);
    if (settled) code = settled.code;
    if (explanation && code === 0) console.log(explanation);
    else if (explanation) console.error(explanation);
    else if (code !== 0 && code !== INTERRUPTED) {
      console.error(`db:${name}: Prisma exited with code ${code}.`);
    }
    if (code === 0 && command.regenerates && !extra.includes('--create-only')) {
      code = await generate();
    }
    if (
      code === 0 &&
      database.embedded &&
      command.refreshesRoles &&
      (await runtimeRolesExist(database.directUrl))
    ) {
      await setEmbeddedRolePasswords(database.directUrl);
    }
    return code;
  } finally {
    await database.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const [name, ...extra] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 1 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${usage()}`);
    return 1;
  }
  try {
    return await run(name, command, extra);
  } catch (error) {
    if (EXPLAINED_ERRORS.some((type) => error instanceof type)) {
      console.error((error as Error).message);
      return 1;
    }
    throw error;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
