-- Row-Level Security: the second, independent tenant-isolation layer.
--
-- The application connects (through the pooler, DATABASE_URL) as `app_runtime`, a role that is not a
-- superuser, cannot bypass RLS, owns no table and has no TRUNCATE. Each query of the tenant client
-- runs in a transaction that has set `app.workspace_id` transaction-locally; the policies below let
-- `app_runtime` see and write only rows of that workspace. Without the setting (or with the empty
-- string a pooled connection keeps after a transaction-local value ends, or with anything that is
-- not a UUID) it sees no tenant rows and can write none.
--
-- Cross-tenant administrative work uses a separate role, `app_admin`, whose permissive policy is
-- keyed on the role itself, not on a setting: `app_runtime` cannot switch it on.
--
-- Migrations keep running as the owner over DIRECT_URL. FORCE makes the policies apply to the owner
-- too (only superusers and BYPASSRLS roles skip them).

-- Roles. Role names are cluster-wide; an operator may have created them already (with a password).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
    CREATE ROLE app_runtime LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_admin') THEN
    CREATE ROLE app_admin LOGIN;
  END IF;
END
$$;
ALTER ROLE app_runtime NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
ALTER ROLE app_admin NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;

-- Privileges: data access only. No TRUNCATE (it ignores RLS), no REFERENCES, no TRIGGER, no DDL.
GRANT USAGE ON SCHEMA public TO app_runtime, app_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO app_runtime, app_admin;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app_runtime, app_admin;
-- Prisma's own bookkeeping table is not data (it is absent in the shadow database of `migrate diff`).
DO $$
BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE _prisma_migrations FROM app_runtime, app_admin;
  END IF;
END
$$;
-- Tables that later migrations create get the same data-only grants. A tenant-owned table must also
-- get its policies (SELECT enable_tenant_rls(...)); the start-up check refuses to run without them.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_runtime, app_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO app_runtime, app_admin;

-- The current workspace: the transaction-local setting `app.workspace_id` as a uuid, or NULL when it
-- is absent, empty or not a UUID, so that policies fail closed instead of raising a cast error.
-- A single SELECT without FROM, so the planner inlines it and an index on workspace_id is used.
CREATE OR REPLACE FUNCTION current_workspace_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN current_setting('app.workspace_id', true)
      ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    THEN current_setting('app.workspace_id', true)::uuid
  END
$$;

-- Enables and forces RLS on a tenant-owned table and (re)creates its policies: one per command for
-- every role, comparing `tenant_column` with current_workspace_id(), plus the app_admin policy.
-- Call it from the migration that creates a new tenant-owned table:
--   SELECT enable_tenant_rls('my_new_table');
CREATE OR REPLACE FUNCTION enable_tenant_rls(target regclass, tenant_column name DEFAULT 'workspace_id')
  RETURNS void
  LANGUAGE plpgsql
AS $$
DECLARE
  matches text := format('%I = current_workspace_id()', tenant_column);
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation_select ON %s', target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation_insert ON %s', target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation_update ON %s', target);
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation_delete ON %s', target);
  EXECUTE format('DROP POLICY IF EXISTS admin_all ON %s', target);
  EXECUTE format('CREATE POLICY tenant_isolation_select ON %s FOR SELECT USING (%s)', target, matches);
  EXECUTE format('CREATE POLICY tenant_isolation_insert ON %s FOR INSERT WITH CHECK (%s)', target, matches);
  EXECUTE format('CREATE POLICY tenant_isolation_update ON %s FOR UPDATE USING (%s) WITH CHECK (%s)',
    target, matches, matches);
  EXECUTE format('CREATE POLICY tenant_isolation_delete ON %s FOR DELETE USING (%s)', target, matches);
  EXECUTE format('CREATE POLICY admin_all ON %s FOR ALL TO app_admin USING (true) WITH CHECK (true)', target);
END
$$;
REVOKE ALL ON FUNCTION enable_tenant_rls(regclass, name) FROM PUBLIC;

-- The tenant root: a workspace is visible to the transaction that has its id set.
SELECT enable_tenant_rls('workspaces', 'id');

-- Every tenant-owned table (every model with `workspaceId` in schema.prisma).
SELECT enable_tenant_rls('workspace_members');
SELECT enable_tenant_rls('workspace_invitations');
SELECT enable_tenant_rls('api_keys');
SELECT enable_tenant_rls('ai_provider_configs');
SELECT enable_tenant_rls('projects');
SELECT enable_tenant_rls('approval_items');
SELECT enable_tenant_rls('approval_comments');
SELECT enable_tenant_rls('webhooks');
SELECT enable_tenant_rls('webhook_deliveries');
SELECT enable_tenant_rls('audit_logs');

-- Tenant columns default to the current workspace: a row written without one lands in the
-- transaction's workspace, and with no workspace set the NOT NULL constraint refuses it.
ALTER TABLE "ai_provider_configs" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "api_keys" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "approval_comments" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "approval_items" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "audit_logs" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "projects" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "webhook_deliveries" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "webhooks" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "workspace_invitations" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
ALTER TABLE "workspace_members" ALTER COLUMN "workspace_id" SET DEFAULT current_workspace_id();
