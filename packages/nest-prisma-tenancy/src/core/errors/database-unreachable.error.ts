/**
 * Thrown when PostgreSQL cannot be reached (refused, unknown host, timeout) or refuses the
 * connection for good (the database or the role does not exist, a wrong password, an
 * authentication method or TLS setting the client cannot meet). With `fix`, the failure is
 * permanent: the message says what to change, and retrying would not help.
 */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';

  /**
   * @param variable the variable or option the URL came from (`DATABASE_URL`).
   * @param reason what happened, short and without a stack.
   * @param attempts how many connection attempts were made.
   * @param fix for a permanent failure: what to change (the message then leads with the reason).
   */
  constructor(
    readonly variable: string,
    readonly host: string,
    readonly port: number,
    readonly reason: string,
    readonly attempts = 1,
    readonly fix?: string,
  ) {
    super(
      fix === undefined
        ? `Cannot reach PostgreSQL at ${host}:${port} (from ${variable}) after ${attempts} ` +
            `attempt${attempts === 1 ? '' : 's'}: ${reason}. Check that the server is running and ` +
            `accepts TCP connections on that host and port (pg_isready -h ${host} -p ${port}), that ` +
            `the user, password and database in ${variable} are right, and that a firewall or VPN is ` +
            `not in the way. To use the embedded PostgreSQL instead, unset DATABASE_URL and DIRECT_URL.`
        : `Cannot connect to PostgreSQL at ${host}:${port} (from ${variable}): ${reason}. ${fix} ` +
            `(Not retried: waiting does not change this.)`,
    );
  }

  /** True when retrying cannot help (the message carries a fix). */
  get permanent(): boolean {
    return this.fix !== undefined;
  }
}

/** Host and port of a postgres URL, for messages. */
export function describeTarget(url: string): { host: string; port: number } {
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname || 'localhost', port: Number(parsed.port || 5432) };
  } catch {
    return { host: 'unknown-host', port: 5432 };
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
  '28P01': 'password authentication failed',
  '28000': 'the server rejected the user (check pg_hba.conf and the user name)',
  '3D000': 'the database does not exist',
  '57P03': 'the server is starting up or shutting down',
};

/** Reasons for the connection failure kinds of @prisma/adapter-pg (wrapped by Prisma as P2010). */
const DRIVER_KINDS: Record<string, string> = {
  DatabaseNotReachable: REASONS.ECONNREFUSED,
  ConnectionClosed: 'the server closed the connection',
  SocketTimeout: REASONS.ETIMEDOUT,
  AuthenticationFailed: REASONS['28P01'],
  DatabaseDoesNotExist: REASONS['3D000'],
  DatabaseAccessDenied: 'access to the database was denied',
  TooManyConnections: 'the server has too many connections',
  TlsConnectionError: 'the TLS connection failed',
};

function driverKind(error: unknown): string | undefined {
  const meta = (error as { meta?: { driverAdapterError?: { cause?: { kind?: unknown } } } })?.meta;
  const cause = meta?.driverAdapterError?.cause ?? (error as { cause?: { kind?: unknown } })?.cause;
  return typeof cause?.kind === 'string' ? cause.kind : undefined;
}

/** A short, human reason for a connection failure, without a stack. */
export function connectionFailureReason(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && REASONS[code]) return REASONS[code];
  const kind = driverKind(error);
  if (kind && DRIVER_KINDS[kind]) return DRIVER_KINDS[kind];
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return 'connection timed out';
  return (
    message
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? 'unknown error'
  );
}

/** True when an error from node-postgres or Prisma means "could not connect", not "bad query". */
export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code in REASONS) return true;
  const kind = driverKind(error);
  if (kind && kind in DRIVER_KINDS) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|EAI_AGAIN|timeout exceeded when trying to connect|Connection terminated|DatabaseNotReachable|Can't reach database server/i.test(
    message,
  );
}
