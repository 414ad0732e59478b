import type { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Prisma } from '@prisma/client';
import { ClsModule } from 'nestjs-cls';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DatabaseUnreachableError } from '../errors/database-unreachable.error';
import { PrismaModule } from '../../nest/prisma.module';
import { PrismaConnection } from '../../nest/prisma.service';
import { permanentConnectionFailure } from './connect-retry';

const SECRET = 'connect-retry-spec-secret-0123456789-abcdef';
/** Generous retries: a permanent failure that waited for them would take over 7 s. */
const RETRIES = 4;
const DELAY_MS = 1000;

/** Every line logged during a start-up, with its level. */
type Logged = Array<[level: string, message: string]>;

function capturingLogger(logged: Logged): LoggerService {
  const at =
    (level: string) =>
    (message: unknown): void =>
      void logged.push([level, String(message)]);
  return {
    log: at('log'),
    error: at('error'),
    warn: at('warn'),
    debug: at('debug'),
    verbose: at('verbose'),
    fatal: at('fatal'),
  };
}

/** `DATABASE_URL` of this run with `change` applied. */
function runtimeUrl(change: (url: URL) => void): string {
  const url = new URL(process.env.DATABASE_URL as string);
  change(url);
  return url.toString();
}

const unique = () => randomBytes(4).toString('hex');

/**
 * Starts PrismaModule on `url` with RETRIES attempts DELAY_MS apart; returns the start-up failure,
 * how long it took and what was logged.
 */
async function failedStart(
  url: string,
  retries = RETRIES,
  delayMs = DELAY_MS,
): Promise<{ failure: DatabaseUnreachableError; elapsedMs: number; logged: Logged }> {
  const logged: Logged = [];
  const moduleRef = await Test.createTestingModule({
    imports: [
      ClsModule.forRoot({ global: true, middleware: { mount: true } }),
      PrismaModule.forRoot({
        url,
        jwt: { secret: SECRET },
        // Prisma's own error events on: a failed attempt must still not print one.
        log: ['error', 'warn'],
        connectRetries: retries,
        connectRetryDelayMs: delayMs,
      }),
    ],
  }).compile();
  moduleRef.useLogger(capturingLogger(logged));
  const started = Date.now();
  const failure: unknown = await moduleRef.init().catch((error: unknown) => error);
  const elapsedMs = Date.now() - started;
  await expect(moduleRef.close()).rejects.toBe(failure);
  await moduleRef.get(PrismaConnection).onApplicationShutdown();
  expect(failure).toBeInstanceOf(DatabaseUnreachableError);
  return { failure: failure as DatabaseUnreachableError, elapsedMs, logged };
}

describe('PrismaModule start-up on a database that refuses for good: no retries', () => {
  it('a missing database fails at the first attempt, naming it and how to create it', async () => {
    const database = `no_such_db_${unique()}`;
    const { hostname } = new URL(process.env.DATABASE_URL as string);
    const port = new URL(process.env.DATABASE_URL as string).port || '5432';
    const { failure, elapsedMs, logged } = await failedStart(
      runtimeUrl((url) => (url.pathname = `/${database}`)),
    );

    expect(failure.attempts).toBe(1);
    expect(failure.permanent).toBe(true);
    expect(failure.reason).toBe(`the database "${database}" does not exist`);
    expect(failure.message).toBe(
      `Cannot connect to PostgreSQL at ${hostname}:${port} (from DATABASE_URL): the database ` +
        `"${database}" does not exist. Create it (createdb -h ${hostname} -p ${port} -U <owner> ` +
        `${database}) and apply the migrations, or correct the database name in DATABASE_URL. ` +
        `(Not retried: waiting does not change this.)`,
    );
    expect(elapsedMs).toBeLessThan(DELAY_MS);
    expect(logged).toEqual([]);
  });

  // A server with password authentication (the embedded one) asks the password before it says
  // whether the role exists or may log in: the first answer is then "a password is needed", which
  // is as permanent.
  const passwordAuth = new URL(process.env.DATABASE_URL as string).password !== '';
  const expectRefusal = (
    failure: DatabaseUnreachableError,
    role: string,
    reason: string,
    fix: string,
  ) => {
    if (passwordAuth) {
      expect(failure.reason).toBe(
        `the server asks a password of the role "${role}" and DATABASE_URL has none`,
      );
    } else {
      expect(failure.reason).toBe(reason);
      expect(failure.fix).toBe(fix);
    }
  };

  it('a missing role fails at the first attempt, naming it and how to create it', async () => {
    const role = `no_such_role_${unique()}`;
    const { failure, elapsedMs, logged } = await failedStart(
      runtimeUrl((url) => {
        url.username = role;
        url.password = '';
      }),
    );

    expect(failure.attempts).toBe(1);
    expectRefusal(
      failure,
      role,
      `the role "${role}" does not exist`,
      `Create it (CREATE ROLE "${role}" LOGIN PASSWORD '...', with the grants your migrations ` +
        `give it), or correct the user name in DATABASE_URL.`,
    );
    expect(failure.message).toContain(`: ${failure.reason}. `);
    expect(elapsedMs).toBeLessThan(DELAY_MS);
    expect(logged).toEqual([]);
  });

  it('a role that may not log in fails at the first attempt', async () => {
    const role = `nologin_${unique()}`;
    const owner = new pg.Client({ connectionString: process.env.DIRECT_URL });
    await owner.connect();
    try {
      await owner.query(`CREATE ROLE ${role} NOLOGIN`);
      const { failure, elapsedMs, logged } = await failedStart(
        runtimeUrl((url) => {
          url.username = role;
          url.password = '';
        }),
      );

      expect(failure.attempts).toBe(1);
      expectRefusal(
        failure,
        role,
        `the role "${role}" may not log in`,
        `Allow it (ALTER ROLE "${role}" LOGIN), or connect as another role in DATABASE_URL.`,
      );
      expect(elapsedMs).toBeLessThan(DELAY_MS);
      expect(logged).toEqual([]);
    } finally {
      await owner.query(`DROP ROLE IF EXISTS ${role}`);
      await owner.end();
    }
  });
});

describe('PrismaModule start-up on a port where nothing listens: bounded retries', () => {
  it('tries connectRetries times, one warning line per retry, then fails naming the attempts', async () => {
    const { failure, logged } = await failedStart('postgresql://app_runtime@127.0.0.1:1/x', 3, 20);

    expect(failure.attempts).toBe(3);
    expect(failure.permanent).toBe(false);
    expect(failure.reason).toBe('connection refused (nothing listens there)');
    expect(failure.message).toContain(
      'Cannot reach PostgreSQL at 127.0.0.1:1 (from DATABASE_URL) after 3 attempts: connection ' +
        'refused (nothing listens there).',
    );
    expect(logged).toEqual([
      [
        'warn',
        'Database not reachable (attempt 1/3: connection refused (nothing listens there)); retrying in 20 ms',
      ],
      [
        'warn',
        'Database not reachable (attempt 2/3: connection refused (nothing listens there)); retrying in 40 ms',
      ],
    ]);
  });
});

describe('permanentConnectionFailure', () => {
  const URL_ = 'postgresql://app_runtime:secret@db.example:6543/app';
  /** A node-postgres error as the server sends it. */
  const server = (code: string, message: string) => Object.assign(new Error(message), { code });

  // Cases the trust-authenticated test server cannot produce (passwords, SASL, TLS).
  it.each<[string, unknown, string | undefined]>([
    [
      '28P01 wrong password',
      server('28P01', 'password authentication failed for user "app_runtime"'),
      'password authentication failed for the role "app_runtime"',
    ],
    [
      '28000 no pg_hba.conf entry',
      server('28000', 'no pg_hba.conf entry for host "10.0.0.9", user "app_runtime"'),
      'the server rejected the role "app_runtime" (no pg_hba.conf entry for host "10.0.0.9", user "app_runtime")',
    ],
    [
      '42501 no CONNECT privilege',
      server('42501', 'permission denied for database "app"'),
      'the role "app_runtime" may not connect to the database "app"',
    ],
    [
      'a password the URL lacks (SCRAM)',
      new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'),
      'the server asks a password of the role "app_runtime" and DATABASE_URL has none',
    ],
    [
      'a server without TLS',
      new Error('The server does not support SSL connections'),
      'the TLS connection failed (The server does not support SSL connections)',
    ],
    [
      '3D000 wrapped by Prisma (P2010 with the driver adapter error)',
      new Prisma.PrismaClientKnownRequestError('Raw query failed. Code: `3D000`.', {
        code: 'P2010',
        clientVersion: '6.19.3',
        meta: {
          driverAdapterError: {
            cause: { originalCode: '3D000', kind: 'DatabaseDoesNotExist', db: 'app' },
          },
        },
      }),
      'the database "app" does not exist',
    ],
    // Transient: retried.
    ['57P03 starting up', server('57P03', 'the database system is starting up'), undefined],
    ['53300 too many clients', server('53300', 'sorry, too many clients already'), undefined],
    [
      'ECONNREFUSED',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6543'), { code: 'ECONNREFUSED' }),
      undefined,
    ],
    ['a connect timeout', new Error('timeout exceeded when trying to connect'), undefined],
    ['a dropped connection', new Error('Connection terminated unexpectedly'), undefined],
  ])('%s', (_, error, reason) => {
    expect(permanentConnectionFailure(error, URL_)?.reason).toBe(reason);
  });

  it('never puts the password of the URL in the reason or the fix', () => {
    const failure = permanentConnectionFailure(server('28P01', 'password failed'), URL_);

    expect(JSON.stringify(failure)).not.toContain('secret');
  });
});
