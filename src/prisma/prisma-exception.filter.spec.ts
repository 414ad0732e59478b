import { type ArgumentsHost, type HttpServer, Logger, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Prisma } from '@prisma/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { CrossTenantWriteError } from './errors/cross-tenant-write.error';
import { InvalidTenantIdError } from './errors/invalid-tenant-id.error';
import { MissingTenantContextError } from './errors/missing-tenant-context.error';
import { UnscopableQueryError } from './errors/unscopable-query.error';
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

/** Runs the filter on `exception` with a stand-in Express response; returns what it sent. */
function respond(exception: Error): { status: number; body: unknown; calls: number } {
  let status = 0;
  let sent: unknown;
  let calls = 0;
  const response = {
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
  return { status, body: sent, calls };
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

describe('PrismaExceptionFilter', () => {
  it.each<[string, () => Error, number, string, string]>([
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
    ],
    [
      'P1001 unreachable (known request error)',
      () => known('P1001'),
      503,
      'The database is unavailable',
      'Service Unavailable',
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
      'This endpoint needs a workspace context',
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
      'Writes may only target the current workspace',
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
    (_, make, statusCode, message, error) => {
      const exception = make();

      const sent = respond(exception);

      expect(sent).toEqual({
        status: statusCode,
        body: body(statusCode, message, error),
        calls: 1,
      });
      expectNothingLeaked(sent.body);
    },
  );

  it('logs 5xx errors with their detail (server side only), and not 4xx ones', () => {
    respond(
      new Prisma.PrismaClientUnknownRequestError(SECRET_MESSAGE, { clientVersion: CLIENT_VERSION }),
    );
    expect(logged).toHaveBeenCalledWith(`PrismaClientUnknownRequestError: ${SECRET_MESSAGE}`);

    logged.mockClear();
    respond(known('P2002'));
    respond(known('P2025'));
    expect(logged).not.toHaveBeenCalled();
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

    const { status, body: sent } = respond(foreign as unknown as Error);

    expect({ status, sent }).toEqual({
      status: 503,
      sent: body(503, 'The database is unavailable', 'Service Unavailable'),
    });
  });

  it.each(['Connection terminated unexpectedly', 'timeout exceeded when trying to connect'])(
    'maps a plain node-postgres "%s" to 503',
    (message) => {
      const { status, body: sent } = respond(new Error(message));

      expect({ status, sent }).toEqual({
        status: 503,
        sent: body(503, 'The database is unavailable', 'Service Unavailable'),
      });
    },
  );
});
