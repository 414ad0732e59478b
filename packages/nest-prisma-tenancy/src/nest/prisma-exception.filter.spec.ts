import {
  type ArgumentsHost,
  ConflictException,
  type HttpServer,
  Logger,
  NotFoundException,
} from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Prisma } from '@prisma/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { CrossTenantWriteError } from '../core/errors/cross-tenant-write.error';
import { InvalidTenantIdError } from '../core/errors/invalid-tenant-id.error';
import { MissingTenantContextError } from '../core/errors/missing-tenant-context.error';
import { TenancyError } from '../core/errors/tenancy.error';
import { UnscopableQueryError } from '../core/errors/unscopable-query.error';
import { PrismaExceptionFilter } from './prisma-exception.filter';

const CLIENT_VERSION = '6.19.3';
/** Identifiers a client must never see: another tenant's workspace and row, SQL, a constraint. */
const SECRET_UUID = '9b2f6c1e-7d4a-4e8b-a1c3-5f6e7d8c9b0a';
const OTHER_WORKSPACE = 'c0ffee00-1234-4abc-8def-0123456789ab';
const SQL = `SELECT * FROM "approval_items" WHERE "workspace_id" = '${OTHER_WORKSPACE}'`;
const SECRET_MESSAGE = `Invalid \`prisma.approvalItem.create()\` invocation: secret-${SECRET_UUID} ${SQL} constraint approval_items_workspace_id_id_key`;

const known = (code: string, message = SECRET_MESSAGE) =>
  new Prisma.PrismaClientKnownRequestError(message, {
    code,
    clientVersion: CLIENT_VERSION,
    meta: { target: ['workspace_id', 'id'], modelName: 'ApprovalItem', cause: SECRET_UUID },
  });

const body = (statusCode: number, message: string, error: string) => ({
  statusCode,
  message,
  error,
});

let filter: PrismaExceptionFilter;
let logged: jest.SpyInstance;

beforeEach(async () => {
  const moduleRef = await Test.createTestingModule({
    providers: [PrismaExceptionFilter],
  }).compile();
  filter = moduleRef.get(PrismaExceptionFilter);
  logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(() => {
  logged.mockRestore();
});

/** What the filter sent through the stand-in Express response. */
interface Sent {
  status: number;
  body: unknown;
  calls: number;
  headers: Record<string, string>;
}

/** Runs the filter on `exception` with a stand-in Express response; returns what it sent. */
function respond(exception: Error): Sent {
  let status = 0;
  let sent: unknown;
  let calls = 0;
  const headers: Record<string, string> = {};
  const response = {
    setHeader(name: string, value: string) {
      headers[name] = value;
    },
    status(code: number) {
      status = code;
      return {
        json(value: unknown) {
          calls++;
          sent = value;
        },
      };
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => response, getRequest: () => ({}) }),
  } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return { status, body: sent, calls, headers };
}

/** Asserts the sent body carries nothing from the original error. */
function expectNothingLeaked(sent: unknown): void {
  const text = JSON.stringify(sent);
  for (const secret of [
    SECRET_UUID,
    OTHER_WORKSPACE,
    'SELECT',
    'approval_items',
    'prisma.',
    'invocation',
    'workspace_id',
    'secret-',
  ]) {
    expect(text).not.toContain(secret);
  }
  expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
  expect(text).not.toMatch(/\bat \S+ \(/); // no stack frame
}

describe('PrismaExceptionFilter with another copy of the Prisma runtime', () => {
  it('recognizes a Prisma error by its name and code where instanceof fails', () => {
    // What a client generated against another copy of the runtime throws: same name, other class.
    class PrismaClientKnownRequestError extends Error {
      override name = 'PrismaClientKnownRequestError';
      readonly code = 'P2002';
      readonly meta = {};
    }
    const sent = respond(new PrismaClientKnownRequestError(SECRET_MESSAGE));

    expect(sent.status).toBe(409);
    expect(sent.body).toEqual(
      body(409, 'A record with the same unique value already exists', 'Conflict'),
    );
    expectNothingLeaked(sent.body);
  });
});

describe('PrismaExceptionFilter', () => {
  it.each<[string, () => Error, number, string, string, string?]>([
    [
      'P2002 unique violation',
      () => known('P2002'),
      409,
      'A record with the same unique value already exists',
      'Conflict',
    ],
    ['P2025 record not found', () => known('P2025'), 404, 'Not found', 'Not Found'],
    [
      'P2003 foreign key',
      () => known('P2003'),
      409,
      'A related record does not exist or is still referenced',
      'Conflict',
    ],
    [
      'P2014 required relation',
      () => known('P2014'),
      409,
      'The change would violate a required relation',
      'Conflict',
    ],
    ['P2001 not found', () => known('P2001'), 404, 'Not found', 'Not Found'],
    [
      'P2018 related record not found',
      () => known('P2018'),
      404,
      'A related record was not found',
      'Not Found',
    ],
    [
      'P2000 value too long',
      () => known('P2000'),
      400,
      'A value is too long for its field',
      'Bad Request',
    ],
    [
      'P2011 null constraint',
      () => known('P2011'),
      400,
      'A required value is missing',
      'Bad Request',
    ],
    ['P2023 malformed value', () => known('P2023'), 400, 'A value is malformed', 'Bad Request'],
    [
      'P2024 pool timeout',
      () => known('P2024'),
      503,
      'The database is busy; try again shortly',
      'Service Unavailable',
      '2',
    ],
    [
      'P1001 unreachable (known request error)',
      () => known('P1001'),
      503,
      'The database is unavailable',
      'Service Unavailable',
      '5',
    ],
    [
      'P1001 unreachable (initialization error)',
      () =>
        new Prisma.PrismaClientInitializationError(
          `Can't reach database server at db-${SECRET_UUID}:5432`,
          CLIENT_VERSION,
          'P1001',
        ),
      503,
      'The database is unavailable',
      'Service Unavailable',
      '5',
    ],
    [
      'a driver connection failure (P2010, DatabaseNotReachable)',
      () =>
        new Prisma.PrismaClientKnownRequestError(
          `\nInvalid \`prisma.$queryRawUnsafe()\` invocation:\n\n\nRaw query failed. Code: \`N/A\`. Message: \`Can't reach database server at db-${SECRET_UUID}:1\``,
          {
            code: 'P2010',
            clientVersion: CLIENT_VERSION,
            meta: {
              driverAdapterError: {
                name: 'DriverAdapterError',
                cause: { kind: 'DatabaseNotReachable', host: `db-${SECRET_UUID}`, port: 1 },
              },
            },
          },
        ),
      503,
      'The database is unavailable',
      'Service Unavailable',
      '5',
    ],
    [
      'a validation error',
      () =>
        new Prisma.PrismaClientValidationError(
          `${SECRET_MESSAGE}\nUnknown argument \`secretField\``,
          { clientVersion: CLIENT_VERSION },
        ),
      400,
      'The request could not be turned into a valid query',
      'Bad Request',
    ],
    [
      'a row-level security refusal (raw driver error, as adapter-pg throws it)',
      () =>
        new DriverAdapterError({
          kind: 'postgres',
          code: '42501',
          severity: 'ERROR',
          message: `new row violates row-level security policy for table "approval_items" ${SECRET_UUID}`,
          detail: `Failing row contains (${SECRET_UUID}, ${OTHER_WORKSPACE}).`,
          column: undefined,
          hint: undefined,
        }),
      404,
      'Not found',
      'Not Found',
    ],
    [
      'a foreign key violation reported by the driver (as Prisma 6.19 wraps it)',
      () =>
        new Prisma.PrismaClientKnownRequestError(SECRET_MESSAGE, {
          code: 'P2003',
          clientVersion: CLIENT_VERSION,
          meta: {
            modelName: 'ApprovalItem',
            driverAdapterError: {
              name: 'DriverAdapterError',
              cause: {
                originalCode: '23503',
                originalMessage: `insert or update on table "approval_items" violates foreign key constraint ${SECRET_UUID}`,
                kind: 'ForeignKeyConstraintViolation',
                constraint: { index: 'approval_items_workspace_id_project_id_fkey' },
              },
            },
          },
        }),
      409,
      'A related record does not exist or is still referenced',
      'Conflict',
    ],
    [
      'MissingTenantContextError',
      () => new MissingTenantContextError(`ApprovalItem.findMany ${SECRET_UUID}`),
      403,
      'This endpoint needs a tenant context',
      'Forbidden',
    ],
    [
      'CrossTenantWriteError',
      () =>
        new CrossTenantWriteError(
          'ApprovalItem',
          `workspaceId ${OTHER_WORKSPACE} is not the current workspace`,
        ),
      400,
      'Writes may only target the current tenant',
      'Bad Request',
    ],
    [
      'an unmapped known code',
      () => known('P9999'),
      500,
      'Internal server error',
      'Internal Server Error',
    ],
    [
      'an unknown request error',
      () =>
        new Prisma.PrismaClientUnknownRequestError(SECRET_MESSAGE, {
          clientVersion: CLIENT_VERSION,
        }),
      500,
      'Internal server error',
      'Internal Server Error',
    ],
    [
      'a Rust panic',
      () => new Prisma.PrismaClientRustPanicError(SECRET_MESSAGE, CLIENT_VERSION),
      500,
      'Internal server error',
      'Internal Server Error',
    ],
    [
      'UnscopableQueryError',
      () => new UnscopableQueryError('ApprovalItem', `project ${SECRET_UUID}`, SQL),
      500,
      'Internal server error',
      'Internal Server Error',
    ],
    [
      'InvalidTenantIdError',
      () => new InvalidTenantIdError(`secret-${SECRET_UUID}-x`),
      500,
      'Internal server error',
      'Internal Server Error',
    ],
  ])(
    '%s: exact status and body, nothing of the original error',
    // A rest parameter: with six declared parameters Jest would pass `done` to five-element rows.
    (...[, make, statusCode, message, error, retryAfter]) => {
      const exception = make();

      const sent = respond(exception);

      expect(sent).toEqual({
        status: statusCode,
        body: body(statusCode, message, error),
        calls: 1,
        headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
      });
      expectNothingLeaked(sent.body);
    },
  );

  it('logs 5xx errors with their detail and stack (server side only), and not 4xx ones', () => {
    const unknown = new Prisma.PrismaClientUnknownRequestError(SECRET_MESSAGE, {
      clientVersion: CLIENT_VERSION,
    });
    respond(unknown);
    expect(logged.mock.calls).toEqual([
      [`PrismaClientUnknownRequestError: ${SECRET_MESSAGE}`, unknown.stack],
    ]);
    expect(unknown.stack).toMatch(/\n\s+at /);

    logged.mockClear();
    respond(known('P2002'));
    respond(known('P2025'));
    expect(logged).not.toHaveBeenCalled();
  });

  it('logs expected 4xx (P2025 404, P2002 409, invalid input 400) at debug level only: one line, no stack', () => {
    const levels = ['log', 'warn', 'debug', 'verbose', 'fatal'] as const;
    const lines: Array<[string, unknown[]]> = [];
    const spies = levels.map((level) =>
      jest
        .spyOn(Logger.prototype, level)
        .mockImplementation((...args: unknown[]) => void lines.push([level, args])),
    );
    try {
      expect(respond(known('P2025')).status).toBe(404);
      expect(respond(known('P2002')).status).toBe(409);
      expect(respond(known('P2000')).status).toBe(400);

      expect(logged).not.toHaveBeenCalled();
      expect(lines).toEqual([
        ['debug', ['404 for PrismaClientKnownRequestError P2025']],
        ['debug', ['409 for PrismaClientKnownRequestError P2002']],
        ['debug', ['400 for PrismaClientKnownRequestError P2000']],
      ]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('logs a hint for MissingTenantContextError (a missing @TenantScoped())', () => {
    respond(new MissingTenantContextError('ApprovalItem.findMany'));

    expect(logged).toHaveBeenCalledWith(
      expect.stringContaining('Is @TenantScoped() missing on this handler or its controller?'),
    );
  });

  it('catches every exception; what is not a database or tenancy error goes to Nest', () => {
    expect(Reflect.getMetadata('__filterCatchExceptions__', PrismaExceptionFilter)).toEqual([]);
    const reply = jest.fn();
    const nest = new PrismaExceptionFilter({
      reply,
      isHeadersSent: () => false,
      end: jest.fn(),
    } as unknown as HttpServer);
    const host = {
      getArgByIndex: () => ({}),
      switchToHttp: () => ({ getResponse: () => ({}), getRequest: () => ({}) }),
    } as unknown as ArgumentsHost;

    nest.catch(new NotFoundException('Not found'), host);
    nest.catch(new Error(`a bug with ${SECRET_UUID}`), host);

    expect(reply.mock.calls.map(([, sent, status]: unknown[]) => [status, sent])).toEqual([
      [404, { message: 'Not found', error: 'Not Found', statusCode: 404 }],
      [500, { statusCode: 500, message: 'Internal server error' }],
    ]);
  });

  it('maps a connection error from another realm (not instanceof Error here) to 503', () => {
    // What Node's net module throws, as a test runner's module sandbox sees it.
    const foreign = {
      name: 'Error',
      message: 'connect ECONNREFUSED 127.0.0.1:5432',
      code: 'ECONNREFUSED',
    };

    const sent = respond(foreign as unknown as Error);

    expect(sent).toEqual({
      status: 503,
      body: body(503, 'The database is unavailable', 'Service Unavailable'),
      calls: 1,
      headers: { 'Retry-After': '5' },
    });
  });
});

/** PostgreSQL's error as @prisma/adapter-pg reports a SQLSTATE it does not classify. */
const postgres = (code: string, message: string) =>
  new DriverAdapterError({
    kind: 'postgres',
    code,
    severity: 'ERROR',
    message: `${message} ${SECRET_UUID}`,
    detail: `Key (workspace_id, id)=(${OTHER_WORKSPACE}, ${SECRET_UUID}) in "approval_items".`,
    column: undefined,
    hint: undefined,
  });

/** A raw query's failure as Prisma 6.19 wraps it (P2010, the driver error in `meta`). */
const rawQueryFailure = (code: string, message: string) =>
  new Prisma.PrismaClientKnownRequestError(
    `Raw query failed. Code: \`${code}\`. Message: \`${message} ${SQL}\``,
    {
      code: 'P2010',
      clientVersion: CLIENT_VERSION,
      meta: {
        driverAdapterError: { name: 'DriverAdapterError', cause: postgres(code, message).cause },
      },
    },
  );

const unknown = (message: string) =>
  new Prisma.PrismaClientUnknownRequestError(`${SECRET_MESSAGE}\n${message}`, {
    clientVersion: CLIENT_VERSION,
  });

/** Stand-in for src/prisma/errors/tenant-busy.error.ts (the filter matches it by name). */
class TenantBusyError extends TenancyError {
  constructor(readonly retryAfterSeconds: number) {
    super(`Workspace ${OTHER_WORKSPACE} has too many operations in flight`);
  }
}

const BUSY = ['The database is busy; try again shortly', 'Service Unavailable'] as const;
const SLOW = ['The database took too long to answer', 'Service Unavailable'] as const;
const UNAVAILABLE = ['The database is unavailable', 'Service Unavailable'] as const;
const CONFLICT = ['The record was changed concurrently; try again', 'Conflict'] as const;
const REFERENCED = ['A related record does not exist or is still referenced', 'Conflict'] as const;
const TENANT_BUSY = [
  'This tenant has too much work in progress; try again shortly',
  'Service Unavailable',
] as const;

describe('PrismaExceptionFilter under load: busy, timeout and conflict errors', () => {
  it.each<[string, () => Error, number, readonly [string, string], string | undefined]>([
    // Prisma's transaction manager (P2028) and codes of driver error kinds.
    [
      'P2028 unable to start a transaction in time',
      () =>
        known('P2028', 'Transaction API error: Unable to start a transaction in the given time.'),
      503,
      BUSY,
      '2',
    ],
    [
      'P2028 expired transaction',
      () =>
        known(
          'P2028',
          'Transaction API error: A query cannot be executed on an expired transaction. The timeout for this transaction was 5000 ms, however 5012 ms passed since the start of the transaction.',
        ),
      503,
      BUSY,
      '2',
    ],
    [
      'P2028 transaction already closed',
      () =>
        known(
          'P2028',
          'Transaction API error: Transaction already closed: A commit cannot be executed on a transaction that was rolled back.',
        ),
      503,
      BUSY,
      '2',
    ],
    ['P2034 write conflict or deadlock', () => known('P2034'), 409, CONFLICT, '1'],
    ['P2024 pool timeout', () => known('P2024'), 503, BUSY, '2'],
    ['P2037 too many connections', () => known('P2037'), 503, BUSY, '2'],
    ['P1008 operation timed out', () => known('P1008'), 503, SLOW, '2'],
    ['P1018 transaction already closed', () => known('P1018'), 503, BUSY, '2'],
    // PostgreSQL's SQLSTATEs as adapter-pg reports them (DriverAdapterError, kind postgres).
    ['40P01 deadlock', () => postgres('40P01', 'deadlock detected'), 409, CONFLICT, '1'],
    [
      '40001 serialization failure',
      () => postgres('40001', 'could not serialize access due to concurrent update'),
      409,
      CONFLICT,
      '1',
    ],
    [
      '55P03 lock not available',
      () => postgres('55P03', 'canceling statement due to lock timeout'),
      503,
      BUSY,
      '2',
    ],
    [
      '57014 statement timeout',
      () => postgres('57014', 'canceling statement due to statement timeout'),
      503,
      SLOW,
      '2',
    ],
    [
      '53300 too many connections',
      () => postgres('53300', 'sorry, too many clients already'),
      503,
      BUSY,
      '2',
    ],
    [
      '53400 configuration limit exceeded',
      () => postgres('53400', 'configuration limit exceeded'),
      503,
      BUSY,
      '2',
    ],
    // Driver error kinds of adapter-pg.
    [
      'TransactionWriteConflict (adapter-pg kind of 40001)',
      () => new DriverAdapterError({ kind: 'TransactionWriteConflict' }),
      409,
      CONFLICT,
      '1',
    ],
    [
      'TooManyConnections (adapter-pg kind of 53300)',
      () =>
        new DriverAdapterError({ kind: 'TooManyConnections', cause: `too many ${SECRET_UUID}` }),
      503,
      BUSY,
      '2',
    ],
    // Raw queries: P2010 with the driver error in meta.
    [
      'a raw query deadlock (P2010)',
      () => rawQueryFailure('40P01', 'deadlock detected'),
      409,
      CONFLICT,
      '1',
    ],
    [
      'a raw query statement timeout (P2010)',
      () => rawQueryFailure('57014', 'canceling statement due to statement timeout'),
      503,
      SLOW,
      '2',
    ],
    // A node-postgres error carrying a SQLSTATE, as Prisma's request handler wraps it.
    [
      'a SQLSTATE as the code of a known request error (55P03)',
      () => known('55P03', 'could not obtain lock on row in relation "approval_items"'),
      503,
      BUSY,
      '2',
    ],
    [
      'a SQLSTATE as the code of a known request error (40P01)',
      () => known('40P01'),
      409,
      CONFLICT,
      '1',
    ],
    // Unknown request errors, known only by their message.
    [
      'an unknown request error: unable to start a transaction',
      () => unknown('Transaction API error: Unable to start a transaction in the given time.'),
      503,
      BUSY,
      '2',
    ],
    [
      'an unknown request error: deadlock detected',
      () => unknown('deadlock detected'),
      409,
      CONFLICT,
      '1',
    ],
    [
      'an unknown request error: statement timeout',
      () => unknown('canceling statement due to statement timeout'),
      503,
      SLOW,
      '2',
    ],
    [
      'an unknown request error: too many clients',
      () => unknown('sorry, too many clients already'),
      503,
      BUSY,
      '2',
    ],
    [
      'an unknown request error: connection terminated',
      () => unknown('Connection terminated unexpectedly'),
      503,
      UNAVAILABLE,
      '5',
    ],
    // node-postgres's own errors, unwrapped (plain Error).
    ['plain "Query read timeout"', () => new Error('Query read timeout'), 503, SLOW, '2'],
    [
      'plain "timeout exceeded when trying to connect"',
      () => new Error('timeout exceeded when trying to connect'),
      503,
      UNAVAILABLE,
      '5',
    ],
    [
      'plain "Connection terminated unexpectedly"',
      () => new Error('Connection terminated unexpectedly'),
      503,
      UNAVAILABLE,
      '5',
    ],
    [
      'plain "Connection terminated due to connection timeout"',
      () => new Error('Connection terminated due to connection timeout'),
      503,
      UNAVAILABLE,
      '5',
    ],
    // One workspace over its admission limit.
    ['TenantBusyError', () => new TenantBusyError(3), 503, TENANT_BUSY, '3'],
    [
      'TenantBusyError, fractional seconds rounded up',
      () => new TenantBusyError(2.2),
      503,
      TENANT_BUSY,
      '3',
    ],
    [
      'TenantBusyError without usable seconds',
      () => new TenantBusyError(Number.NaN),
      503,
      TENANT_BUSY,
      '1',
    ],
    [
      'TenantBusyError from another realm (matched by name)',
      () =>
        ({
          name: 'TenantBusyError',
          message: `Workspace ${OTHER_WORKSPACE} is busy`,
          retryAfterSeconds: 4,
        }) as unknown as Error,
      503,
      TENANT_BUSY,
      '4',
    ],
    // PostgreSQL 18's RESTRICT violation: the same outcome as a foreign key violation (15: 23503).
    [
      '23001 restrict violation (PostgreSQL 18, as adapter-pg 6.19 throws it)',
      () =>
        new DriverAdapterError({
          originalCode: '23001',
          originalMessage: `update or delete on table "projects" violates RESTRICT setting of foreign key constraint "approval_items_workspace_id_project_id_fkey" on table "approval_items" ${SECRET_UUID}`,
          kind: 'postgres',
          code: '23001',
          severity: 'ERROR',
          message: `update or delete on table "projects" violates RESTRICT setting of foreign key constraint "approval_items_workspace_id_project_id_fkey" on table "approval_items" ${SECRET_UUID}`,
          detail: `Key (workspace_id, id)=(${OTHER_WORKSPACE}, ${SECRET_UUID}) is referenced from table "approval_items".`,
        } as ConstructorParameters<typeof DriverAdapterError>[0]),
      409,
      REFERENCED,
      undefined,
    ],
    [
      '23001 restrict violation in a raw query (P2010)',
      () =>
        rawQueryFailure('23001', 'update or delete on table "projects" violates RESTRICT setting'),
      409,
      REFERENCED,
      undefined,
    ],
    [
      '23503 as the code of a known request error',
      () => known('23503'),
      409,
      REFERENCED,
      undefined,
    ],
  ])(
    '%s: exact status, body and Retry-After, nothing of the original error',
    (_, make, statusCode, [message, error], retryAfter) => {
      const sent = respond(make());

      expect(sent).toEqual({
        status: statusCode,
        body: body(statusCode, message, error),
        calls: 1,
        headers: retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
      });
      expectNothingLeaked(sent.body);
    },
  );

  it('logs shed requests as warnings, not errors', () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      respond(
        known('P2028', 'Transaction API error: Unable to start a transaction in the given time.'),
      );
      respond(new TenantBusyError(1));

      expect(logged).not.toHaveBeenCalled();
      expect(warned.mock.calls).toEqual([
        [
          '503 (retry after 2 s) for PrismaClientKnownRequestError: Transaction API error: Unable to start a transaction in the given time.',
        ],
        [
          `503 (retry after 1 s) for TenantBusyError: Workspace ${OTHER_WORKSPACE} has too many operations in flight`,
        ],
      ]);
    } finally {
      warned.mockRestore();
    }
  });

  it('leaves an HttpException and an unrelated plain Error to Nest, whatever their message', () => {
    const reply = jest.fn();
    const nest = new PrismaExceptionFilter({
      reply,
      isHeadersSent: () => false,
      end: jest.fn(),
    } as unknown as HttpServer);
    const host = {
      getArgByIndex: () => ({}),
      switchToHttp: () => ({ getResponse: () => ({}), getRequest: () => ({}) }),
    } as unknown as ArgumentsHost;

    nest.catch(new ConflictException('deadlock detected'), host);
    nest.catch(new Error('the invoice total is negative'), host);

    expect(reply.mock.calls.map(([, sent, status]: unknown[]) => [status, sent])).toEqual([
      [409, { message: 'deadlock detected', error: 'Conflict', statusCode: 409 }],
      [500, { statusCode: 500, message: 'Internal server error' }],
    ]);
  });
});

describe('PrismaExceptionFilter and body-parser client errors', () => {
  /** What body-parser (http-errors) throws for a body over the size limit. */
  function tooLarge(): Error {
    return Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
      statusCode: 413,
      expose: true,
    });
  }

  it('answers 413 as JSON, with no stack logged', () => {
    const logged: unknown[] = [];
    const spies = [
      jest.spyOn(Logger.prototype, 'error').mockImplementation((...a) => void logged.push(a)),
      jest.spyOn(Logger, 'error').mockImplementation((...a) => void logged.push(a)),
    ];
    try {
      expect(respond(tooLarge())).toEqual({
        status: 413,
        body: { message: 'request entity too large', error: 'Payload Too Large', statusCode: 413 },
        calls: 1,
        headers: {},
      });
      expect(logged).toEqual([]);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it('leaves an unexposed or server-side error to Nest (a 500)', () => {
    const delegated = jest
      .spyOn(BaseExceptionFilter.prototype, 'catch')
      .mockImplementation(() => undefined);
    try {
      const hidden = Object.assign(new Error('internal detail'), { status: 400, expose: false });
      const server = Object.assign(new Error('upstream'), { status: 502, expose: true });
      expect(respond(hidden).calls).toBe(0);
      expect(respond(server).calls).toBe(0);
      expect(delegated).toHaveBeenCalledTimes(2);
    } finally {
      delegated.mockRestore();
    }
  });
});
