import {
  connectionFailureReason,
  DatabaseUnreachableError,
  describeTarget,
} from '../errors/database-unreachable.error';

/** How `connectWithRetries` tries, and how it reports. */
export interface ConnectRetryOptions {
  /** The connection URL, for host, port, user and database in messages (never printed whole). */
  url: string;
  /** The variable or option the URL came from, named in the error (`DATABASE_URL`). */
  variable: string;
  /** Attempts in all, at least 1. */
  attempts: number;
  /** Wait before the second attempt (ms), doubled after each, at most `maxDelayMs`. */
  delayMs: number;
  /** Longest wait between two attempts (ms). Default: 5000. */
  maxDelayMs?: number;
  /** Told about each failed attempt that will be retried, in one line (a warning). */
  onRetry?: (message: string) => void;
}

/** A connection failure that waiting cannot cure, and what to change. */
export interface PermanentConnectionFailure {
  reason: string;
  fix: string;
}

/** Who and where a URL connects, for messages. */
interface Target {
  host: string;
  port: number;
  user: string;
  database: string;
  variable: string;
}

function targetOf(url: string, variable: string): Target {
  const { host, port } = describeTarget(url);
  let user = '';
  let database = '';
  try {
    const parsed = new URL(url);
    user = decodeURIComponent(parsed.username);
    database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  } catch {
    // describeTarget already answered for an unparsable URL.
  }
  // libpq's defaults: the operating system user, and a database named like the user.
  user ||= process.env.PGUSER ?? process.env.USER ?? 'postgres';
  database ||= user;
  return { host, port, user, database, variable };
}

/**
 * The SQLSTATE (`code` of a node-postgres error, or `originalCode` of a driver adapter error that
 * Prisma wrapped) and the error kind of `@prisma/adapter-pg`, when there are.
 */
function codesOf(error: unknown): { code?: string; kind?: string; message: string } {
  const e = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } };
    cause?: { originalCode?: unknown; kind?: unknown };
  };
  const cause = e.meta?.driverAdapterError?.cause ?? e.cause;
  const code =
    typeof cause?.originalCode === 'string'
      ? cause.originalCode
      : typeof e.code === 'string'
        ? e.code
        : undefined;
  return {
    code,
    kind: typeof cause?.kind === 'string' ? cause.kind : undefined,
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

/** TLS failures of Node's `tls` module: a certificate or a setting to change, not a busy server. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Whether a failed connection attempt can never succeed as configured, and then why and what to
 * change: the database does not exist (3D000), the role does not exist or may not log in, or
 * pg_hba.conf has no entry for it (28000), a wrong password (28P01), no CONNECT privilege on the
 * database (42501), an authentication method or TLS setting the client cannot meet. Undefined for
 * a failure that may pass (refused, timed out, the server starting up: 57P03, too many clients).
 *
 * @param error what node-postgres or Prisma threw for the attempt.
 * @param url the URL of the attempt; its user and database name the fix (never its password).
 * @param variable the variable or option the URL came from.
 */
export function permanentConnectionFailure(
  error: unknown,
  url: string,
  variable = 'DATABASE_URL',
): PermanentConnectionFailure | undefined {
  const { code, kind, message } = codesOf(error);
  const t = targetOf(url, variable);
  if (code === '3D000' || kind === 'DatabaseDoesNotExist') {
    return {
      reason: `the database "${t.database}" does not exist`,
      fix:
        `Create it (createdb -h ${t.host} -p ${t.port} -U <owner> ${t.database}) and apply the ` +
        `migrations, or correct the database name in ${t.variable}.`,
    };
  }
  if (code === '28P01' || kind === 'AuthenticationFailed') {
    return {
      reason: `password authentication failed for the role "${t.user}"`,
      fix:
        `Correct the password in ${t.variable} (URL-encode characters such as @ : / %), or set ` +
        `the role's password (ALTER ROLE "${t.user}" PASSWORD '...'); with password ` +
        `authentication the server says the same when the role does not exist.`,
    };
  }
  if (code === '28000' || (code?.startsWith('28') ?? false)) {
    if (/role .* does not exist/i.test(message)) {
      return {
        reason: `the role "${t.user}" does not exist`,
        fix:
          `Create it (CREATE ROLE "${t.user}" LOGIN PASSWORD '...', with the grants your ` +
          `migrations give it), or correct the user name in ${t.variable}.`,
      };
    }
    if (/not permitted to log in/i.test(message)) {
      return {
        reason: `the role "${t.user}" may not log in`,
        fix: `Allow it (ALTER ROLE "${t.user}" LOGIN), or connect as another role in ${t.variable}.`,
      };
    }
    return {
      reason: `the server rejected the role "${t.user}" (${firstLine(message)})`,
      fix:
        `Allow this role, database and client host in the server's pg_hba.conf and reload it ` +
        `(SELECT pg_reload_conf()), or correct the user name in ${t.variable}.`,
    };
  }
  if (code === '42501' || kind === 'DatabaseAccessDenied') {
    return {
      reason: `the role "${t.user}" may not connect to the database "${t.database}"`,
      fix: `Grant it (GRANT CONNECT ON DATABASE "${t.database}" TO "${t.user}"), or connect as another role.`,
    };
  }
  if (/client password must be a string|SASL: SCRAM-SERVER-FIRST-MESSAGE/.test(message)) {
    return {
      reason: `the server asks a password of the role "${t.user}" and ${t.variable} has none`,
      fix: `Add the password to ${t.variable} (postgresql://${t.user}:<password>@${t.host}:${t.port}/${t.database}).`,
    };
  }
  if (/authentication (method|type)|Unknown authenticationOk message type|SASL/i.test(message)) {
    return {
      reason: `the server asks for an authentication method the client does not support (${firstLine(message)})`,
      fix:
        `Use password (scram-sha-256 or md5) authentication for this role in the server's ` +
        `pg_hba.conf.`,
    };
  }
  if (
    (code !== undefined && TLS_CODES.has(code)) ||
    kind === 'TlsConnectionError' ||
    /does not support SSL connections/.test(message)
  ) {
    return {
      reason: `the TLS connection failed (${firstLine(message)})`,
      fix:
        `Match sslmode in ${t.variable} to the server (sslmode=disable for a server without TLS), ` +
        `or give the client the server's CA certificate.`,
    };
  }
  return undefined;
}

function firstLine(message: string): string {
  return (
    message
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'no details'
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `probe` (one connection attempt, such as `pool.query('SELECT 1')`) until it succeeds, at
 * most `attempts` times with a doubling delay, as nestjs/typeorm does. A permanent failure (see
 * `permanentConnectionFailure`) stops at once: retrying a missing database or a wrong password
 * only delays the message that says so. Each retried failure is reported once through `onRetry`,
 * in one line; nothing else is printed.
 *
 * @returns the number of attempts made.
 * @throws DatabaseUnreachableError after the last attempt, or at once for a permanent failure
 *   (with `fix` set).
 */
export async function connectWithRetries(
  probe: () => Promise<unknown>,
  options: ConnectRetryOptions,
): Promise<number> {
  const attempts = Math.max(1, Math.floor(options.attempts));
  const maxDelay = options.maxDelayMs ?? 5000;
  let delay = options.delayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await probe();
      return attempt;
    } catch (error) {
      const { host, port } = describeTarget(options.url);
      const permanent = permanentConnectionFailure(error, options.url, options.variable);
      if (permanent) {
        throw new DatabaseUnreachableError(
          options.variable,
          host,
          port,
          permanent.reason,
          attempt,
          permanent.fix,
        );
      }
      const reason = connectionFailureReason(error);
      if (attempt >= attempts) {
        throw new DatabaseUnreachableError(options.variable, host, port, reason, attempt);
      }
      options.onRetry?.(
        `Database not reachable (attempt ${attempt}/${attempts}: ${reason}); retrying in ${delay} ms`,
      );
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
