import {
  DEFAULT_SQL_NAMES,
  qualifiedFunction,
  type TenancySqlNames,
} from '../sql/tenancy-sql-names';
import { TenancyError } from './tenancy.error';

/** The start-up check found that PostgreSQL would not enforce tenant isolation (layer 2). */
export class RowLevelSecurityNotEnforcedError extends TenancyError {
  /**
   * @param problems Each way tenants would not be isolated, with its fix.
   * @param sql The configured SQL names, for the advice. Default: DEFAULT_SQL_NAMES.
   */
  constructor(
    readonly problems: string[],
    sql: TenancySqlNames = DEFAULT_SQL_NAMES,
  ) {
    super(
      `Row-Level Security would not isolate tenants on this connection, so the app refuses to start:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nConnect DATABASE_URL as the runtime role ${sql.runtimeRole} (not a superuser, not the table ` +
        `owner), apply the migrations (npm run db:deploy), and give every tenant-owned table its ` +
        `policies with SELECT ${sql.functionSchema === 'public' ? sql.enableFunction : qualifiedFunction(sql, 'enableFunction')}('table'). To start anyway (not recommended), set ` +
        `the PrismaModule option rlsCheck to 'warn'.`,
    );
  }
}
