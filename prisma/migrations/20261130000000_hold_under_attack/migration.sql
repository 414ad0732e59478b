-- Hold under attack: identity tables, a tenant setting that cannot be forged, no ON UPDATE CASCADE,
-- immutable keys, no temporary objects for the application roles.
--
-- 1. Foreign keys: ON UPDATE RESTRICT everywhere (PostgreSQL runs referential actions as the table
--    owner, outside Row-Level Security, so an id change cascading from a global table could re-key
--    another workspace's rows), and a member's user can no longer be deleted while the membership
--    exists (deleting a user must never reach into other workspaces).

ALTER TABLE "accounts" DROP CONSTRAINT "accounts_user_id_fkey";
ALTER TABLE "ai_provider_configs" DROP CONSTRAINT "ai_provider_configs_workspace_id_fkey";
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_workspace_id_created_by_id_fkey";
ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_workspace_id_fkey";
ALTER TABLE "approval_comments" DROP CONSTRAINT "approval_comments_author_id_fkey";
ALTER TABLE "approval_comments" DROP CONSTRAINT "approval_comments_workspace_id_approval_item_id_fkey";
ALTER TABLE "approval_comments" DROP CONSTRAINT "approval_comments_workspace_id_fkey";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_created_by_id_fkey";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_decided_by_id_fkey";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_workspace_id_ai_provider_config_id_fkey";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_workspace_id_fkey";
ALTER TABLE "approval_items" DROP CONSTRAINT "approval_items_workspace_id_project_id_fkey";
ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_actor_user_id_fkey";
ALTER TABLE "audit_logs" DROP CONSTRAINT "audit_logs_workspace_id_fkey";
ALTER TABLE "projects" DROP CONSTRAINT "projects_workspace_id_fkey";
ALTER TABLE "sessions" DROP CONSTRAINT "sessions_user_id_fkey";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_workspace_id_fkey";
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_workspace_id_webhook_id_fkey";
ALTER TABLE "webhooks" DROP CONSTRAINT "webhooks_workspace_id_fkey";
ALTER TABLE "workspace_invitations" DROP CONSTRAINT "workspace_invitations_workspace_id_fkey";
ALTER TABLE "workspace_invitations" DROP CONSTRAINT "workspace_invitations_workspace_id_invited_by_id_fkey";
ALTER TABLE "workspace_members" DROP CONSTRAINT "workspace_members_user_id_fkey";
ALTER TABLE "workspace_members" DROP CONSTRAINT "workspace_members_workspace_id_fkey";
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "workspace_members" ADD CONSTRAINT "workspace_members_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "workspace_members" ADD CONSTRAINT "workspace_members_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE "workspace_invitations" ADD CONSTRAINT "workspace_invitations_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "workspace_invitations" ADD CONSTRAINT "workspace_invitations_workspace_id_invited_by_id_fkey" FOREIGN KEY ("workspace_id", "invited_by_id") REFERENCES "workspace_members"("workspace_id", "id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_created_by_id_fkey" FOREIGN KEY ("workspace_id", "created_by_id") REFERENCES "workspace_members"("workspace_id", "id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "ai_provider_configs" ADD CONSTRAINT "ai_provider_configs_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "projects" ADD CONSTRAINT "projects_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_workspace_id_project_id_fkey" FOREIGN KEY ("workspace_id", "project_id") REFERENCES "projects"("workspace_id", "id") ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_workspace_id_ai_provider_config_id_fkey" FOREIGN KEY ("workspace_id", "ai_provider_config_id") REFERENCES "ai_provider_configs"("workspace_id", "id") ON DELETE RESTRICT ON UPDATE RESTRICT;
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_created_by_id_fkey" FOREIGN KEY ("created_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE RESTRICT;
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_decided_by_id_fkey" FOREIGN KEY ("decided_by_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE RESTRICT;
ALTER TABLE "approval_comments" ADD CONSTRAINT "approval_comments_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "approval_comments" ADD CONSTRAINT "approval_comments_workspace_id_approval_item_id_fkey" FOREIGN KEY ("workspace_id", "approval_item_id") REFERENCES "approval_items"("workspace_id", "id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "approval_comments" ADD CONSTRAINT "approval_comments_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE RESTRICT;
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_workspace_id_webhook_id_fkey" FOREIGN KEY ("workspace_id", "webhook_id") REFERENCES "webhooks"("workspace_id", "id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_workspace_id_fkey" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE ON UPDATE RESTRICT;
ALTER TABLE "audit_logs" ADD CONSTRAINT "audit_logs_actor_user_id_fkey" FOREIGN KEY ("actor_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE RESTRICT;

-- 2. Keys never change: an UPDATE that changes a primary key or the tenant column is refused,
--    whoever runs it (the tenant client refuses it too; this holds for raw SQL and other clients).
CREATE OR REPLACE FUNCTION public.refuse_key_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  column_name text;
  old_value text;
  new_value text;
BEGIN
  FOREACH column_name IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT ($1).%1$I::text, ($2).%1$I::text', column_name)
      INTO old_value, new_value USING OLD, NEW;
    IF old_value IS DISTINCT FROM new_value THEN
      RAISE EXCEPTION 'the key column %.% cannot be changed', TG_TABLE_NAME, column_name
        USING ERRCODE = '23514', HINT = 'Ids never change: create a new row instead.';
    END IF;
  END LOOP;
  RETURN NEW;
END
$$;

-- Installs the trigger on `target` for the given key columns.
CREATE OR REPLACE FUNCTION public.protect_keys(target regclass, key_columns text[])
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS keys_are_immutable ON %s', target);
  EXECUTE format(
    'CREATE TRIGGER keys_are_immutable BEFORE UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION public.refuse_key_change(%s)',
    (SELECT string_agg(quote_ident(c), ', ') FROM unnest(key_columns) AS c),
    target,
    (SELECT string_agg(quote_literal(c), ', ') FROM unnest(key_columns) AS c));
END
$$;
REVOKE ALL ON FUNCTION public.protect_keys(regclass, text[]) FROM PUBLIC;

SELECT public.protect_keys('public.users', ARRAY['id']);
SELECT public.protect_keys('public.accounts', ARRAY['id', 'user_id']);
SELECT public.protect_keys('public.sessions', ARRAY['id', 'user_id']);
SELECT public.protect_keys('public.workspaces', ARRAY['id']);
SELECT public.protect_keys('public.workspace_members', ARRAY['id', 'workspace_id', 'user_id']);
SELECT public.protect_keys('public.workspace_invitations', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.api_keys', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.ai_provider_configs', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.projects', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.approval_items', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.approval_comments', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.webhooks', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.webhook_deliveries', ARRAY['id', 'workspace_id']);
SELECT public.protect_keys('public.audit_logs', ARRAY['id', 'workspace_id']);

-- 3. The tenant setting carries proof. `app.workspace_id` used to hold a bare workspace id, which
--    any statement of the runtime role could set (an injected raw query included). It now holds
--      v1.<workspace id or empty>.<user id or empty>.<issued at, unix seconds>.<HMAC-SHA256, hex>
--    signed by the library with a key that PostgreSQL keeps where the application roles cannot
--    read it. The policies accept a claim only when its signature verifies and it was issued
--    within `max_age_seconds` of the transaction's start; anything else reads as "no tenant".
--    The library always sends the value as a bind parameter, never inside the query text, so it
--    does not show in pg_stat_activity.
CREATE SCHEMA IF NOT EXISTS tenancy_private;
REVOKE ALL ON SCHEMA tenancy_private FROM PUBLIC;

CREATE TABLE IF NOT EXISTS tenancy_private.setting_key (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  key bytea NOT NULL CHECK (length(key) = 32),
  -- HMAC's inner and outer padded keys, precomputed (PostgreSQL has sha256 but no hmac without
  -- pgcrypto, which not every managed PostgreSQL lets an owner install).
  inner_key bytea NOT NULL,
  outer_key bytea NOT NULL,
  max_age_seconds integer NOT NULL CHECK (max_age_seconds BETWEEN 5 AND 86400),
  installed_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE tenancy_private.setting_key FROM PUBLIC;

-- Installs the signing key on first use (the library calls it at start-up, as the runtime role,
-- with a key derived from its configured secret). Returns 'installed' or 'unchanged'; a different
-- key is never replaced from here ('mismatch'): rotate it as the owner
-- (DELETE FROM tenancy_private.setting_key) and restart every app that shares the database.
CREATE OR REPLACE FUNCTION public.tenancy_install_setting_key(new_key bytea, max_age_seconds integer)
  RETURNS text
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  padded bytea;
  inner_key bytea;
  outer_key bytea;
  stored bytea;
  i integer;
BEGIN
  IF new_key IS NULL OR length(new_key) <> 32 THEN
    RAISE EXCEPTION 'the tenant setting key must be 32 bytes' USING ERRCODE = '22023';
  END IF;
  padded := new_key || decode(repeat('00', 32), 'hex');
  inner_key := padded;
  outer_key := padded;
  FOR i IN 0..63 LOOP
    inner_key := set_byte(inner_key, i, get_byte(padded, i) # 54);
    outer_key := set_byte(outer_key, i, get_byte(padded, i) # 92);
  END LOOP;
  INSERT INTO tenancy_private.setting_key (key, inner_key, outer_key, max_age_seconds)
    VALUES (new_key, inner_key, outer_key, greatest(5, least(86400, coalesce(max_age_seconds, 300))))
    ON CONFLICT (singleton) DO NOTHING
    RETURNING key INTO stored;
  IF FOUND THEN
    RETURN 'installed';
  END IF;
  SELECT s.key INTO stored FROM tenancy_private.setting_key s;
  RETURN CASE WHEN stored = new_key THEN 'unchanged' ELSE 'mismatch' END;
END
$$;
REVOKE ALL ON FUNCTION public.tenancy_install_setting_key(bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tenancy_install_setting_key(bytea, integer) TO app_runtime;

-- The verified claim `part` (1: workspace, 2: user) of the current tenant setting, or NULL.
CREATE OR REPLACE FUNCTION public.tenancy_verified_claim(part integer) RETURNS uuid
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  raw text := current_setting('app.workspace_id', true);
  parts text[];
  k record;
  claim text;
BEGIN
  IF raw IS NULL OR length(raw) < 80 OR length(raw) > 200 THEN
    RETURN NULL;
  END IF;
  parts := string_to_array(raw, '.');
  IF array_length(parts, 1) IS DISTINCT FROM 5 OR parts[1] <> 'v1' OR parts[4] !~ '^[0-9]{1,12}$' THEN
    RETURN NULL;
  END IF;
  SELECT s.inner_key, s.outer_key, s.max_age_seconds INTO k FROM tenancy_private.setting_key s;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF encode(sha256(k.outer_key || sha256(k.inner_key || convert_to(
       parts[1] || '.' || parts[2] || '.' || parts[3] || '.' || parts[4], 'UTF8'))), 'hex')
     IS DISTINCT FROM parts[5] THEN
    RETURN NULL;
  END IF;
  IF abs(extract(epoch FROM now()) - parts[4]::bigint) > k.max_age_seconds THEN
    RETURN NULL;
  END IF;
  claim := parts[part + 1];
  IF claim ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RETURN claim::uuid;
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION public.tenancy_verified_claim(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.tenancy_verified_claim(integer) TO app_runtime, app_admin;

-- The current workspace and user: verified claims of the setting, or NULL (fail closed).
-- Policies call them as `(SELECT public.current_workspace_id())`, which PostgreSQL evaluates once
-- per statement (an InitPlan) instead of once per row.
CREATE OR REPLACE FUNCTION public.current_workspace_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT public.tenancy_verified_claim(1) $$;

CREATE OR REPLACE FUNCTION public.current_app_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT public.tenancy_verified_claim(2) $$;

-- The same helper as before, now with the once-per-statement form.
CREATE OR REPLACE FUNCTION public.enable_tenant_rls(target regclass, tenant_column name DEFAULT 'workspace_id')
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  matches text := format('%I = (SELECT public.current_workspace_id())', tenant_column);
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

-- 4. Identity tables. A user row is visible to the current user and to the current workspace's
--    members' context; only the current user's own rows can be written; nobody deletes a user
--    through the runtime role. Accounts and sessions belong to their user alone. Verification
--    tokens are reachable only by the system client.
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;
CREATE POLICY identity_select ON public.users FOR SELECT USING (
  id = (SELECT public.current_app_user_id())
  OR EXISTS (SELECT 1 FROM public.workspace_members m
              WHERE m.user_id = users.id AND m.workspace_id = (SELECT public.current_workspace_id())));
CREATE POLICY identity_insert ON public.users FOR INSERT
  WITH CHECK (id = (SELECT public.current_app_user_id()));
CREATE POLICY identity_update ON public.users FOR UPDATE
  USING (id = (SELECT public.current_app_user_id()))
  WITH CHECK (id = (SELECT public.current_app_user_id()));
CREATE POLICY admin_all ON public.users FOR ALL TO app_admin USING (true) WITH CHECK (true);

ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY identity_own ON public.accounts FOR ALL
  USING (user_id = (SELECT public.current_app_user_id()))
  WITH CHECK (user_id = (SELECT public.current_app_user_id()));
CREATE POLICY admin_all ON public.accounts FOR ALL TO app_admin USING (true) WITH CHECK (true);

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY identity_own ON public.sessions FOR ALL
  USING (user_id = (SELECT public.current_app_user_id()))
  WITH CHECK (user_id = (SELECT public.current_app_user_id()));
CREATE POLICY admin_all ON public.sessions FOR ALL TO app_admin USING (true) WITH CHECK (true);

ALTER TABLE public.verification_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.verification_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON public.verification_tokens FOR ALL TO app_admin USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE public.verification_tokens FROM app_runtime;

-- Credentials and token hashes are never readable by the runtime role (it may still write them,
-- e.g. when linking an account; the tenant client never asks for them back).
REVOKE SELECT ON TABLE public.accounts FROM app_runtime;
GRANT SELECT (id, user_id, type, provider, provider_account_id, expires_at, token_type, scope, session_state)
  ON TABLE public.accounts TO app_runtime;
REVOKE SELECT ON TABLE public.sessions FROM app_runtime;
GRANT SELECT (id, user_id, expires, user_agent, ip_address, created_at)
  ON TABLE public.sessions TO app_runtime;

-- A tenant row may only point at a user the writer can see (the current user, or a member of the
-- current workspace). Foreign keys are checked without Row-Level Security, so without this a row
-- could reference any user whose id is known (and the tenant could then read that user through the
-- relation, or learn which ids exist). The check runs as the writer, under its policies; the owner
-- and app_admin see every user.
CREATE OR REPLACE FUNCTION public.refuse_invisible_user_reference() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  column_name text;
  user_id uuid;
BEGIN
  FOREACH column_name IN ARRAY TG_ARGV LOOP
    EXECUTE format('SELECT ($1).%I::uuid', column_name) INTO user_id USING NEW;
    IF user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public.users u WHERE u.id = user_id) THEN
      RAISE EXCEPTION 'insert or update on table "%" violates foreign key constraint on "%"',
          TG_TABLE_NAME, column_name
        USING ERRCODE = '23503', DETAIL = 'The referenced user does not exist or is not visible here.';
    END IF;
  END LOOP;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION public.check_user_references(target regclass, user_columns text[])
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format('DROP TRIGGER IF EXISTS user_references_are_visible ON %s', target);
  EXECUTE format(
    'CREATE TRIGGER user_references_are_visible BEFORE INSERT OR UPDATE OF %s ON %s FOR EACH ROW EXECUTE FUNCTION public.refuse_invisible_user_reference(%s)',
    (SELECT string_agg(quote_ident(c), ', ') FROM unnest(user_columns) AS c),
    target,
    (SELECT string_agg(quote_literal(c), ', ') FROM unnest(user_columns) AS c));
END
$$;
REVOKE ALL ON FUNCTION public.check_user_references(regclass, text[]) FROM PUBLIC;

SELECT public.check_user_references('public.workspace_members', ARRAY['user_id']);
SELECT public.check_user_references('public.approval_items', ARRAY['created_by_id', 'decided_by_id']);
SELECT public.check_user_references('public.approval_comments', ARRAY['author_id']);
SELECT public.check_user_references('public.audit_logs', ARRAY['actor_user_id']);

-- 5. No temporary objects for the application roles: a temporary table named like a real one
--    would shadow it for unqualified SQL (pg_temp is searched first unless listed).
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM app_runtime, app_admin', current_database());
END
$$;
