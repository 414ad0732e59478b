-- Citus only, after the migrations: distributes the schema by workspace.
SET citus.enable_unsafe_triggers = on;

-- Policies without subqueries (Citus refuses subqueries in policies of distributed tables).
CREATE OR REPLACE FUNCTION public.enable_tenant_rls(target regclass, tenant_column name DEFAULT 'workspace_id')
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  matches text := format('%I = public.current_workspace_id()', tenant_column);
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
REVOKE ALL ON FUNCTION public.enable_tenant_rls(regclass, name) FROM PUBLIC;
SELECT public.enable_tenant_rls('public.workspaces', 'id');
SELECT public.enable_tenant_rls('public.workspace_members');
SELECT public.enable_tenant_rls('public.workspace_invitations');
SELECT public.enable_tenant_rls('public.api_keys');
SELECT public.enable_tenant_rls('public.ai_provider_configs');
SELECT public.enable_tenant_rls('public.projects');
SELECT public.enable_tenant_rls('public.approval_items');
SELECT public.enable_tenant_rls('public.approval_comments');
SELECT public.enable_tenant_rls('public.webhooks');
SELECT public.enable_tenant_rls('public.webhook_deliveries');
SELECT public.enable_tenant_rls('public.audit_logs');

DROP POLICY identity_select ON public.users;
DROP POLICY identity_insert ON public.users;
DROP POLICY identity_update ON public.users;
DROP POLICY identity_own ON public.accounts;
DROP POLICY identity_own ON public.sessions;
CREATE POLICY identity_select ON public.users FOR SELECT USING (id = public.current_app_user_id());
CREATE POLICY identity_insert ON public.users FOR INSERT WITH CHECK (id = public.current_app_user_id());
CREATE POLICY identity_update ON public.users FOR UPDATE
  USING (id = public.current_app_user_id()) WITH CHECK (id = public.current_app_user_id());
CREATE POLICY identity_own ON public.accounts FOR ALL
  USING (user_id = public.current_app_user_id()) WITH CHECK (user_id = public.current_app_user_id());
CREATE POLICY identity_own ON public.sessions FOR ALL
  USING (user_id = public.current_app_user_id()) WITH CHECK (user_id = public.current_app_user_id());

-- The tenant setting's key must be on every node: the policies run on the workers and verify the
-- signature there. It cannot be a reference table (a policy function reading it from a shard query
-- is refused: "cannot execute a distributed query from a query on a shard"), so each node keeps a
-- plain local copy, outside Citus' metadata, and the install function writes them all.
SELECT run_command_on_workers($cmd$
  SET citus.enable_ddl_propagation TO off;
  CREATE SCHEMA IF NOT EXISTS tenancy_private;
  REVOKE ALL ON SCHEMA tenancy_private FROM PUBLIC;
  CREATE TABLE IF NOT EXISTS tenancy_private.setting_key (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    key bytea NOT NULL CHECK (length(key) = 32),
    inner_key bytea NOT NULL,
    outer_key bytea NOT NULL,
    max_age_seconds integer NOT NULL CHECK (max_age_seconds BETWEEN 5 AND 86400),
    installed_at timestamptz NOT NULL DEFAULT now()
  );
  REVOKE ALL ON TABLE tenancy_private.setting_key FROM PUBLIC;
$cmd$);

-- The install function of the hold-under-attack migration, plus: copy the coordinator's key to
-- every worker (a worker with another key reports 'mismatch').
ALTER FUNCTION public.tenancy_install_setting_key(bytea, integer) RENAME TO tenancy_install_setting_key_locally;
REVOKE ALL ON FUNCTION public.tenancy_install_setting_key_locally(bytea, integer) FROM PUBLIC, app_runtime;
CREATE FUNCTION public.tenancy_install_setting_key(new_key bytea, max_age_seconds integer)
  RETURNS text
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  outcome text := public.tenancy_install_setting_key_locally(new_key, max_age_seconds);
  k record;
  answer record;
BEGIN
  IF outcome = 'mismatch' THEN
    RETURN outcome;
  END IF;
  SELECT * INTO k FROM tenancy_private.setting_key;
  FOR answer IN SELECT * FROM run_command_on_workers(format(
      'WITH ins AS (INSERT INTO tenancy_private.setting_key (key, inner_key, outer_key, max_age_seconds) '
      'VALUES (%L, %L, %L, %s) ON CONFLICT (singleton) DO NOTHING RETURNING key) '
      'SELECT coalesce((SELECT key FROM ins), (SELECT key FROM tenancy_private.setting_key)) = %L',
      k.key, k.inner_key, k.outer_key, k.max_age_seconds, k.key))
  LOOP
    IF NOT answer.success THEN
      RAISE EXCEPTION 'could not install the tenant setting key on worker %:%: %',
        answer.nodename, answer.nodeport, answer.result;
    END IF;
    IF answer.result <> 't' THEN
      RETURN 'mismatch';
    END IF;
  END LOOP;
  RETURN outcome;
END
$$;
REVOKE ALL ON FUNCTION public.tenancy_install_setting_key(bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tenancy_install_setting_key(bytea, integer) TO app_runtime;

-- The tenant setting reaches the workers only as SET LOCAL inside a transaction block, with this.
ALTER ROLE app_runtime SET citus.propagate_set_commands = 'local';
ALTER ROLE app_admin SET citus.propagate_set_commands = 'local';

-- SET takes no bind parameter, so on Citus the signed claim is in the text of `SET LOCAL`, and
-- PostgreSQL shows a session's current statement to every session of the same role. Raw SQL of one
-- tenant could read another tenant's claim in flight there and replay it until it expires: the
-- activity views and the functions behind them are taken away from the application roles on every
-- node (the coordinator and the workers, which replay the text).
SELECT run_command_on_all_nodes($cmd$
  DO $do$
  BEGIN
    REVOKE SELECT ON pg_catalog.pg_stat_activity FROM PUBLIC;
    REVOKE EXECUTE ON FUNCTION pg_catalog.pg_stat_get_activity(integer) FROM PUBLIC;
    IF to_regclass('pg_catalog.citus_stat_activity') IS NOT NULL THEN
      REVOKE SELECT ON pg_catalog.citus_stat_activity FROM PUBLIC;
    END IF;
    IF to_regclass('pg_catalog.citus_dist_stat_activity') IS NOT NULL THEN
      REVOKE SELECT ON pg_catalog.citus_dist_stat_activity FROM PUBLIC;
    END IF;
    IF to_regprocedure('pg_catalog.citus_stat_activity()') IS NOT NULL THEN
      REVOKE EXECUTE ON FUNCTION pg_catalog.citus_stat_activity() FROM PUBLIC;
    END IF;
  END
  $do$
$cmd$);

-- Global slugs cannot be unique on a table sharded by id.
DROP INDEX public.workspaces_slug_key;

SELECT create_reference_table('public.users');
SELECT create_reference_table('public.accounts');
SELECT create_reference_table('public.sessions');
SELECT create_reference_table('public.verification_tokens');

-- Foreign keys between tenant tables (and to workspaces) cannot exist while one side is local and
-- the other distributed: set them aside, distribute every tenant table, then put them back.
DO $$
DECLARE
  -- Names, not oids: Citus may re-create a table (undoing its automatic "citus local" conversion)
  -- when one of its foreign keys is dropped.
  tenant_tables text[] := ARRAY[
    'public.workspaces', 'public.workspace_members', 'public.workspace_invitations', 'public.api_keys',
    'public.ai_provider_configs', 'public.projects', 'public.approval_items',
    'public.approval_comments', 'public.webhooks', 'public.webhook_deliveries', 'public.audit_logs'
  ];
  dropped text[];
  restored text[];
  t text;
BEGIN
  SELECT array_agg(format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname)),
         array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
                          pg_get_constraintdef(c.oid)))
    INTO dropped, restored
    FROM pg_constraint c
   WHERE c.contype = 'f'
     AND c.conrelid = ANY (tenant_tables::regclass[])
     AND c.confrelid = ANY (tenant_tables::regclass[]);
  FOREACH t IN ARRAY coalesce(dropped, '{}') LOOP
    EXECUTE t;
  END LOOP;
  PERFORM create_distributed_table('public.workspaces', 'id');
  FOREACH t IN ARRAY tenant_tables[2:] LOOP
    PERFORM create_distributed_table(t::regclass, 'workspace_id', colocate_with => 'public.workspaces');
  END LOOP;
  FOREACH t IN ARRAY coalesce(restored, '{}') LOOP
    EXECUTE t;
  END LOOP;
END
$$;

-- Prisma's INSERT/UPDATE ... RETURNING casts enum columns to text (`"status"::text`). That cast is
-- an I/O conversion through enum_out, which is STABLE, and Citus refuses non-IMMUTABLE functions in
-- RETURNING ("non-IMMUTABLE functions are not allowed in the RETURNING clause"). An explicit cast
-- per enum type through an IMMUTABLE function takes its place (labels are only ever added here,
-- never renamed, so the label of a value does not change).
DO $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT t.oid::regtype AS type_name, t.typname FROM pg_type t
             JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'e' AND n.nspname = 'public'
  LOOP
    EXECUTE format(
      'CREATE OR REPLACE FUNCTION public.%I(v %s) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
      'AS $f$ SELECT pg_catalog.textin(pg_catalog.enum_out(v)) $f$',
      e.typname || '_label', e.type_name);
    EXECUTE format('CREATE CAST (%s AS text) WITH FUNCTION public.%I(%s) AS ASSIGNMENT',
      e.type_name, e.typname || '_label', e.type_name);
  END LOOP;
END
$$;
