/**
 * The PostgreSQL setting that holds the current workspace id, transaction-locally. The RLS
 * policies read it through `current_workspace_id()`; only the tenant driver sets it.
 */
export const TENANT_SETTING = 'app.workspace_id';
