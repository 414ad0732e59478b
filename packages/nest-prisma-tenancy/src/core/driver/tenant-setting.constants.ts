import { DEFAULT_SQL_NAMES } from '../sql/tenancy-sql-names';

/**
 * The default PostgreSQL setting that holds the signed tenant claim, transaction-locally. The RLS
 * policies read it through `current_workspace_id()`; only the tenant driver sets it. Configurable
 * with the PrismaModule option `sql.setting` (see TenancySqlNamesOptions): read the configured one
 * from `tenantPool.settings.sql.setting`.
 */
export const TENANT_SETTING = DEFAULT_SQL_NAMES.setting;
