import { type ArgumentsHost, Catch, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import * as PrismaRuntime from '@prisma/client/runtime/client';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { isConnectionFailure } from '../core/errors/database-unreachable.error';
import { CrossTenantWriteError } from '../core/errors/cross-tenant-write.error';
import { MissingTenantContextError } from '../core/errors/missing-tenant-context.error';
import { MissingUserContextError } from '../core/errors/missing-user-context.error';
import { TenancyError } from '../core/errors/tenancy.error';
import { isTenantMembershipDenied } from '../core/errors/tenant-membership-denied.error';

interface ErrorBody {
  statusCode: number;
  message: string;
  error: string;
}

/** What the filter answers for an error: status, public message and, when retrying helps, how soon. */
export interface PrismaErrorResponse {
  statusCode: number;
  message: string;
  /** Seconds for the `Retry-After` header; set on every 503 and on retryable 409s. */
  retryAfterSeconds?: number;
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

/** A lost race (write conflict, deadlock, serialization failure): retrying at once usually works. */
const RETRY_CONFLICT_SECONDS = 1;
/** The database (or its pool) is saturated or slow: give it a moment. */
const RETRY_BUSY_SECONDS = 2;
/** The database is down or restarting. */
const RETRY_UNAVAILABLE_SECONDS = 5;
/** `TenantBusyError` without a usable `retryAfterSeconds`. */
const RETRY_TENANT_BUSY_SECONDS = 1;

const BUSY: PrismaErrorResponse = {
  statusCode: 503,
  message: 'The database is busy; try again shortly',
  retryAfterSeconds: RETRY_BUSY_SECONDS,
};
const SLOW: PrismaErrorResponse = {
  statusCode: 503,
  message: 'The database took too long to answer',
  retryAfterSeconds: RETRY_BUSY_SECONDS,
};
const UNAVAILABLE: PrismaErrorResponse = {
  statusCode: 503,
  message: 'The database is unavailable',
  retryAfterSeconds: RETRY_UNAVAILABLE_SECONDS,
};
const CONFLICT: PrismaErrorResponse = {
  statusCode: 409,
  message: 'The record was changed concurrently; try again',
  retryAfterSeconds: RETRY_CONFLICT_SECONDS,
};
const STILL_REFERENCED: PrismaErrorResponse = {
  statusCode: 409,
  message: 'A related record does not exist or is still referenced',
};
const TENANT_BUSY_MESSAGE = 'This tenant has too much work in progress; try again shortly';

const respond = (statusCode: number, message: string): PrismaErrorResponse => ({
  statusCode,
  message,
});

/** Prisma error codes that mean "the client sent something the database refused", or "busy". */
const KNOWN: Record<string, PrismaErrorResponse> = {
  P2002: respond(409, 'A record with the same unique value already exists'),
  P2003: STILL_REFERENCED,
  P2014: respond(409, 'The change would violate a required relation'),
  P2025: respond(404, 'Not found'),
  P2018: respond(404, 'A related record was not found'),
  P2015: respond(404, 'A related record was not found'),
  P2001: respond(404, 'Not found'),
  P2000: respond(400, 'A value is too long for its field'),
  P2005: respond(400, 'A value is invalid for its field'),
  P2006: respond(400, 'A value is invalid for its field'),
  P2007: respond(400, 'The data is invalid'),
  P2011: respond(400, 'A required value is missing'),
  P2012: respond(400, 'A required value is missing'),
  P2019: respond(400, 'The input is invalid'),
  P2020: respond(400, 'A value is out of range'),
  P2023: respond(400, 'A value is malformed'),
  P2033: respond(400, 'A number is too large'),
  // Timed out waiting for a pool connection.
  P2024: BUSY,
  // Transaction API error: could not start one in time (maxWait), or it expired / closed
  // (timeout) before its next query ran. Both mean "too much waiting", not a bug.
  P2028: BUSY,
  // Write conflict or deadlock (TransactionWriteConflict).
  P2034: CONFLICT,
  // Too many database connections (TooManyConnections).
  P2037: BUSY,
  // Operation timed out (SocketTimeout).
  P1008: SLOW,
  // Transaction already closed (TransactionAlreadyClosed).
  P1018: BUSY,
  P1001: UNAVAILABLE,
  P1002: UNAVAILABLE,
  P1017: UNAVAILABLE,
};

/** Driver adapter error kinds (what @prisma/adapter-pg reports) and their responses. */
const DRIVER_KINDS: Record<string, PrismaErrorResponse> = {
  UniqueConstraintViolation: KNOWN.P2002,
  ForeignKeyConstraintViolation: KNOWN.P2003,
  NullConstraintViolation: KNOWN.P2011,
  LengthMismatch: KNOWN.P2000,
  ValueOutOfRange: KNOWN.P2020,
  TransactionWriteConflict: CONFLICT,
  TransactionAlreadyClosed: BUSY,
  DatabaseNotReachable: UNAVAILABLE,
  ConnectionClosed: UNAVAILABLE,
  SocketTimeout: UNAVAILABLE,
  TooManyConnections: BUSY,
  DatabaseDoesNotExist: UNAVAILABLE,
  DatabaseAccessDenied: UNAVAILABLE,
  AuthenticationFailed: UNAVAILABLE,
  TlsConnectionError: UNAVAILABLE,
};

/**
 * PostgreSQL SQLSTATEs, as adapter-pg reports the ones it does not classify (`kind: 'postgres'`),
 * and as Prisma wraps a raw node-postgres error (`PrismaClientKnownRequestError` whose `code` is
 * the SQLSTATE).
 */
const POSTGRES_CODES: Record<string, PrismaErrorResponse> = {
  // Row-Level Security refusing a row reads as "not found": no existence oracle.
  '42501': KNOWN.P2025,
  '22P02': KNOWN.P2023,
  '22001': KNOWN.P2000,
  '23503': STILL_REFERENCED,
  // restrict_violation: PostgreSQL 18 reports a violated ON DELETE RESTRICT key with its own code
  // (15 says 23503), which adapter-pg 6.19 does not classify.
  '23001': STILL_REFERENCED,
  '40001': CONFLICT, // serialization_failure
  '40P01': CONFLICT, // deadlock_detected
  '55P03': BUSY, // lock_not_available (lock_timeout, NOWAIT)
  '57014': SLOW, // query_canceled (statement_timeout, cancel request)
  '53300': BUSY, // too_many_connections
  '53400': BUSY, // configuration_limit_exceeded
  '57P01': UNAVAILABLE,
  '57P02': UNAVAILABLE,
  '57P03': UNAVAILABLE,
  '08000': UNAVAILABLE,
  '08003': UNAVAILABLE,
  '08006': UNAVAILABLE,
  // NUL characters and invalid byte sequences: text PostgreSQL cannot store.
  '22021': respond(400, 'The text contains characters that cannot be stored'),
  '54001': respond(400, 'The input is nested too deeply'),
};

/**
 * Messages of errors that arrive without a code: node-postgres's own (plain `Error`), Prisma's
 * transaction manager and engine texts inside a `PrismaClientUnknownRequestError`, or PostgreSQL's
 * message quoted in one. Only database and driver wording, so an application bug is never taken
 * for a busy database.
 */
const TRANSIENT_MESSAGES: Array<[RegExp, PrismaErrorResponse]> = [
  [
    /Unable to start a transaction in the given time|Transaction already closed|expired transaction|Transaction not found/,
    BUSY,
  ],
  [/write conflict or a deadlock|deadlock detected|could not serialize access/, CONFLICT],
  [/could not obtain lock|canceling statement due to lock timeout/, BUSY],
  [/Query read timeout|canceling statement due to|Operation has timed out/, SLOW],
  [
    /sorry, too many clients already|Too many database connections|remaining connection slots/,
    BUSY,
  ],
  [/timeout exceeded when trying to connect|Connection terminated/, UNAVAILABLE],
];

function fromDriverError(cause: unknown): PrismaErrorResponse | undefined {
  const { kind, code } = (cause ?? {}) as { kind?: string; code?: string };
  if (kind === 'postgres') return code ? POSTGRES_CODES[code] : undefined;
  return kind ? DRIVER_KINDS[kind] : undefined;
}

function fromMessage(exception: unknown): PrismaErrorResponse | undefined {
  const message = (exception as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  return TRANSIENT_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

/** `TenantBusyError` (core/errors), matched by name: one tenant's admission limit. */
function isTenantBusy(exception: unknown): exception is Error & { retryAfterSeconds?: unknown } {
  return (exception as { name?: unknown } | null)?.name === 'TenantBusyError';
}

type PrismaErrorName =
  | 'PrismaClientKnownRequestError'
  | 'PrismaClientValidationError'
  | 'PrismaClientUnknownRequestError'
  | 'PrismaClientInitializationError'
  | 'PrismaClientRustPanicError';

const PRISMA_ERROR_NAMES: readonly PrismaErrorName[] = [
  'PrismaClientKnownRequestError',
  'PrismaClientValidationError',
  'PrismaClientUnknownRequestError',
  'PrismaClientInitializationError',
  'PrismaClientRustPanicError',
];

/**
 * A Prisma Client error of the app's generated client, whatever its generator or output: an
 * instance of the shared query compiler runtime's class, or an error of that name (another copy
 * of the runtime, where `instanceof` fails).
 */
function isPrismaError<N extends PrismaErrorName>(
  exception: unknown,
  name: N,
): exception is InstanceType<(typeof PrismaRuntime)[N]> {
  return (
    exception instanceof PrismaRuntime[name] ||
    (typeof exception === 'object' &&
      exception !== null &&
      (exception as { name?: unknown }).name === name)
  );
}

const OWN_ERRORS = [DriverAdapterError, TenancyError];

/** The error's name and code (Prisma's `P2025`, a SQLSTATE or a driver kind), for one log line. */
function describe(error: Error): string {
  type Cause = { kind?: unknown; originalCode?: unknown };
  const { code, meta, cause } = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: Cause } };
    cause?: Cause;
  };
  const driver = meta?.driverAdapterError?.cause ?? cause;
  const detail = [code, driver?.kind, driver?.originalCode]
    .filter((part): part is string => typeof part === 'string')
    .join(' ');
  return detail ? `${error.name} ${detail}` : error.name;
}

/**
 * The status of an `http-errors` style client error (`status`/`statusCode` 400-499 with `expose`,
 * as body-parser throws), or undefined for anything else.
 */
function clientErrorStatus(exception: unknown): number | undefined {
  if (exception instanceof HttpException || typeof exception !== 'object' || exception === null) {
    return undefined;
  }
  const { status, statusCode, expose, message } = exception as Record<string, unknown>;
  const code = typeof statusCode === 'number' ? statusCode : status;
  return typeof code === 'number' &&
    code >= 400 &&
    code < 500 &&
    expose === true &&
    typeof message === 'string' &&
    HttpStatus[code] !== undefined
    ? code
    : undefined;
}

/**
 * Maps Prisma, PostgreSQL, node-postgres and tenancy errors to HTTP responses in Nest's JSON shape
 * (`{ message, error, statusCode }`): unique violation → 409, not found → 404, foreign key (also
 * PostgreSQL 18's `23001` RESTRICT violation) → 409, invalid input → 400; write conflict, deadlock
 * or serialization failure → 409 with `Retry-After`; pool or transaction wait timeout, lock
 * timeout, statement timeout, too many connections, an overloaded tenant (`TenantBusyError`)
 * or a database that is down → 503 with `Retry-After`. The response never carries SQL, a stack, a
 * constraint name or another tenant's identifiers; the details go to the server log. Messages
 * say "tenant", whatever the app calls its tenants.
 *
 * Logging: a 5xx that retrying does not cure is logged as an error with its detail and stack
 * (server side only); a 503 or 409 with `Retry-After` as one warning line; an expected client
 * error (404 not found, 409 unique value, 400 invalid input, body-parser's 413) at debug level
 * only, without a stack.
 *
 * Register it globally through DI (`{ provide: APP_FILTER, useClass: PrismaExceptionFilter }`) so
 * that Nest's default handling, which it delegates to for everything else, is wired.
 */
@Catch()
export class PrismaExceptionFilter extends BaseExceptionFilter {
  private readonly logger = new Logger('PrismaExceptionFilter');

  override catch(exception: unknown, host: ArgumentsHost): void {
    // node-postgres errors such as "Connection terminated unexpectedly", "Query read timeout" or a
    // pool wait timeout reach here unwrapped (plain Error): they mean "database unavailable or
    // busy", not a server bug.
    const ours =
      PRISMA_ERROR_NAMES.some((name) => isPrismaError(exception, name)) ||
      OWN_ERRORS.some((type) => exception instanceof type) ||
      isTenantBusy(exception) ||
      // No `instanceof Error` here: errors from Node's net module belong to another realm under
      // test runners that sandbox modules (Jest), and fail that check.
      (!(exception instanceof HttpException) &&
        (isConnectionFailure(exception) || fromMessage(exception) !== undefined));
    if (!ours) {
      const clientError = clientErrorStatus(exception);
      if (clientError !== undefined) {
        // body-parser's errors (413 too large, 415, 400 malformed JSON) are the client's fault:
        // answer them like Nest's own 4xx, without the stack trace Nest would log for them.
        this.logger.debug(`${clientError} for ${(exception as Error).message}`);
        host
          .switchToHttp()
          .getResponse<{ status(code: number): { json(body: unknown): void } }>()
          .status(clientError)
          .json(body(clientError, (exception as Error).message));
        return;
      }
      super.catch(exception, host);
      return;
    }
    const error = exception as Error;
    const { statusCode, message, retryAfterSeconds } = this.toResponse(error);
    if (statusCode >= 500 && retryAfterSeconds === undefined) {
      // A server fault: its detail and stack, as Nest logs an unknown error.
      this.logger.error(`${error.name}: ${error.message}`, error.stack);
    } else if (retryAfterSeconds !== undefined) {
      // Expected under load: a warning, not one error line per shed request.
      this.logger.warn(
        `${statusCode} (retry after ${retryAfterSeconds} s) for ${error.name}: ${error.message}`,
      );
    } else {
      // The client's doing (404 not found, 409 unique value, 400 invalid input): one debug line,
      // by code, without Prisma's multi-line message or a stack.
      this.logger.debug(`${statusCode} for ${describe(error)}`);
    }
    const response = host.switchToHttp().getResponse<{
      setHeader(name: string, value: string): void;
      status(code: number): { json(body: unknown): void };
    }>();
    if (retryAfterSeconds !== undefined) {
      response.setHeader('Retry-After', String(retryAfterSeconds));
    }
    response.status(statusCode).json(body(statusCode, message));
  }

  /** The status, public message and `Retry-After` seconds (when retrying helps) for an error. */
  toResponse(exception: Error): PrismaErrorResponse {
    if (isTenantBusy(exception)) {
      const seconds = exception.retryAfterSeconds;
      return {
        statusCode: 503,
        message: TENANT_BUSY_MESSAGE,
        retryAfterSeconds:
          typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0
            ? Math.ceil(seconds)
            : RETRY_TENANT_BUSY_SECONDS,
      };
    }
    if (isPrismaError(exception, 'PrismaClientKnownRequestError')) {
      const known = KNOWN[exception.code] ?? POSTGRES_CODES[exception.code];
      if (known) return known;
      const driver = fromDriverError(
        (exception.meta?.driverAdapterError as { cause?: unknown } | undefined)?.cause,
      );
      if (driver) return driver;
    }
    if (exception instanceof DriverAdapterError) {
      const driver = fromDriverError(exception.cause);
      if (driver) return driver;
    }
    if (
      isPrismaError(exception, 'PrismaClientUnknownRequestError') &&
      /lone (leading|trailing) surrogate/.test(exception.message)
    ) {
      return respond(400, 'The text contains characters that cannot be stored');
    }
    if (isPrismaError(exception, 'PrismaClientValidationError')) {
      return respond(400, 'The request could not be turned into a valid query');
    }
    if (isPrismaError(exception, 'PrismaClientInitializationError')) return UNAVAILABLE;
    if (exception instanceof MissingUserContextError) {
      this.logger.error(
        `${exception.message} (Is @Authenticated() or @TenantScoped() missing on this handler?)`,
      );
      return respond(403, 'This endpoint needs a signed-in user');
    }
    if (exception instanceof MissingTenantContextError) {
      this.logger.error(
        `${exception.message} (Is @TenantScoped() missing on this handler or its controller?)`,
      );
      return respond(403, 'This endpoint needs a tenant context');
    }
    if (exception instanceof CrossTenantWriteError) {
      return respond(400, 'Writes may only target the current tenant');
    }
    if (isTenantMembershipDenied(exception))
      return respond(403, 'You are not a member of this tenant');
    // Errors without a usable code: node-postgres's plain errors, Prisma's unknown request
    // errors and known ones whose code says nothing more (P2010 raw query failed, ...).
    const transient = fromMessage(exception);
    if (transient) return transient;
    if (isConnectionFailure(exception)) return UNAVAILABLE;
    return respond(500, 'Internal server error');
  }
}
