import { type ArgumentsHost, Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { Prisma } from '@prisma/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { isConnectionFailure } from '../database/database-unreachable.error';
import { CrossTenantWriteError } from './errors/cross-tenant-write.error';
import { MissingTenantContextError } from './errors/missing-tenant-context.error';
import { TenancyError } from './errors/tenancy.error';

interface ErrorBody {
  statusCode: number;
  message: string;
  error: string;
}

// Same key order as Nest's own HttpException bodies: { message, error, statusCode }.
const body = (statusCode: number, message: string): ErrorBody => ({
  message,
  error: HttpStatus[statusCode]
    .split('_')
    .map((w) => w[0] + w.slice(1).toLowerCase())
    .join(' '),
  statusCode,
});

/** Prisma error codes that mean "the client sent something the database refused". */
const KNOWN: Record<string, [number, string]> = {
  P2002: [409, 'A record with the same unique value already exists'],
  P2003: [409, 'A related record does not exist or is still referenced'],
  P2014: [409, 'The change would violate a required relation'],
  P2025: [404, 'Not found'],
  P2018: [404, 'A related record was not found'],
  P2015: [404, 'A related record was not found'],
  P2001: [404, 'Not found'],
  P2000: [400, 'A value is too long for its field'],
  P2005: [400, 'A value is invalid for its field'],
  P2006: [400, 'A value is invalid for its field'],
  P2007: [400, 'The data is invalid'],
  P2011: [400, 'A required value is missing'],
  P2012: [400, 'A required value is missing'],
  P2019: [400, 'The input is invalid'],
  P2020: [400, 'A value is out of range'],
  P2023: [400, 'A value is malformed'],
  P2033: [400, 'A number is too large'],
  P2024: [503, 'The database is busy; try again shortly'],
  P1001: [503, 'The database is unavailable'],
  P1002: [503, 'The database is unavailable'],
  P1017: [503, 'The database is unavailable'],
};

/** Driver adapter error kinds (what @prisma/adapter-pg reports) and their responses. */
const DRIVER_KINDS: Record<string, [number, string]> = {
  UniqueConstraintViolation: KNOWN.P2002,
  ForeignKeyConstraintViolation: KNOWN.P2003,
  NullConstraintViolation: KNOWN.P2011,
  LengthMismatch: KNOWN.P2000,
  ValueOutOfRange: KNOWN.P2020,
  TransactionWriteConflict: [409, 'The record was changed concurrently; try again'],
  DatabaseNotReachable: KNOWN.P1001,
  ConnectionClosed: KNOWN.P1001,
  SocketTimeout: KNOWN.P1001,
  TooManyConnections: KNOWN.P2024,
  DatabaseDoesNotExist: KNOWN.P1001,
  DatabaseAccessDenied: KNOWN.P1001,
  AuthenticationFailed: KNOWN.P1001,
  TlsConnectionError: KNOWN.P1001,
};

/** PostgreSQL error codes reported as `kind: 'postgres'`. */
const POSTGRES_CODES: Record<string, [number, string]> = {
  // Row-Level Security refusing a row reads as "not found": no existence oracle.
  '42501': KNOWN.P2025,
  '22P02': KNOWN.P2023,
  '22001': KNOWN.P2000,
  '57014': [503, 'The database took too long to answer'],
  '57P01': KNOWN.P1001,
  '57P03': KNOWN.P1001,
  '08006': KNOWN.P1001,
  // NUL characters and invalid byte sequences: text PostgreSQL cannot store.
  '22021': [400, 'The text contains characters that cannot be stored'],
  '54001': [400, 'The input is nested too deeply'],
  '53300': KNOWN.P2024,
};

function fromDriverError(cause: unknown): [number, string] | undefined {
  const { kind, code } = (cause ?? {}) as { kind?: string; code?: string };
  if (kind === 'postgres') return code ? POSTGRES_CODES[code] : undefined;
  return kind ? DRIVER_KINDS[kind] : undefined;
}

/**
 * Maps Prisma and tenancy errors to HTTP responses in Nest's JSON shape: unique violation → 409,
 * not found → 404, foreign key → 409, invalid input → 400, database down or saturated → 503.
 * The response never carries SQL, a stack, a constraint name or another workspace's identifiers;
 * the details go to the server log.
 */
const PRISMA_ERRORS = [
  Prisma.PrismaClientKnownRequestError,
  Prisma.PrismaClientValidationError,
  Prisma.PrismaClientUnknownRequestError,
  Prisma.PrismaClientInitializationError,
  Prisma.PrismaClientRustPanicError,
  DriverAdapterError,
  TenancyError,
];

/**
 * Register it globally through DI (`{ provide: APP_FILTER, useClass: PrismaExceptionFilter }`) so
 * that Nest's default handling, which it delegates to for everything else, is wired.
 */
@Catch()
export class PrismaExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('PrismaExceptionFilter');

  override catch(exception: unknown, host: ArgumentsHost): void {
    // node-postgres errors such as "Connection terminated unexpectedly" or a pool wait timeout
    // reach here unwrapped (plain Error): they mean "database unavailable", not a server bug.
    const ours =
      PRISMA_ERRORS.some((type) => exception instanceof type) ||
      // No `instanceof Error` here: errors from Node's net module belong to another realm under
      // test runners that sandbox modules (Jest), and fail that check.
      (!(exception instanceof HttpException) && isConnectionFailure(exception));
    if (!ours) {
      super.catch(exception, host);
      return;
    }
    const error = exception as Error;
    const { statusCode, message } = this.toResponse(error);
    if (statusCode >= 500) this.logger.error(`${error.name}: ${error.message}`);
    const response = host.switchToHttp().getResponse<{
      status(code: number): { json(body: unknown): void };
    }>();
    response.status(statusCode).json(body(statusCode, message));
  }

  /** The status and public message for an error. */
  toResponse(exception: Error): { statusCode: number; message: string } {
    if (exception instanceof Prisma.PrismaClientKnownRequestError) {
      const known = KNOWN[exception.code];
      if (known) return { statusCode: known[0], message: known[1] };
      const driver = fromDriverError(
        (exception.meta?.driverAdapterError as { cause?: unknown } | undefined)?.cause,
      );
      if (driver) return { statusCode: driver[0], message: driver[1] };
    }
    if (exception instanceof DriverAdapterError) {
      const driver = fromDriverError(exception.cause);
      if (driver) return { statusCode: driver[0], message: driver[1] };
    }
    if (
      exception instanceof Prisma.PrismaClientUnknownRequestError &&
      /lone (leading|trailing) surrogate/.test(exception.message)
    ) {
      return { statusCode: 400, message: 'The text contains characters that cannot be stored' };
    }
    if (exception instanceof Prisma.PrismaClientValidationError) {
      return { statusCode: 400, message: 'The request could not be turned into a valid query' };
    }
    if (
      exception instanceof Prisma.PrismaClientInitializationError ||
      isConnectionFailure(exception)
    ) {
      return { statusCode: 503, message: 'The database is unavailable' };
    }
    if (exception instanceof MissingTenantContextError) {
      this.logger.error(
        `${exception.message} (Is @TenantScoped() missing on this handler or its controller?)`,
      );
      return { statusCode: 403, message: 'This endpoint needs a workspace context' };
    }
    if (exception instanceof CrossTenantWriteError) {
      return { statusCode: 400, message: 'Writes may only target the current workspace' };
    }
    return { statusCode: 500, message: 'Internal server error' };
  }
}
