import { TenancyError } from './tenancy.error';

/** The start-up check found that PostgreSQL would not enforce tenant isolation (layer 2). */
export class RowLevelSecurityNotEnforcedError extends TenancyError {
  constructor(readonly problems: string[]) {
    super(
      `Row-Level Security would not isolate tenants on this connection, so the app refuses to start:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nConnect DATABASE_URL as the runtime role app_runtime (not a superuser, not the table ` +
        `owner), apply the migrations (npm run db:deploy), and give every tenant-owned table its ` +
        `policies with SELECT enable_tenant_rls('table'). To start anyway (not recommended), set ` +
        `the PrismaModule option rlsCheck to 'warn'.`,
    );
  }
}
