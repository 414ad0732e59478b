/**
 * The SQL of the Row-Level Security migration that `nest-prisma-tenancy rls generate` writes, as
 * templates of the configured names (TenancySqlNames: roles, setting, function and private
 * schemas, function names). Every statement is idempotent (CREATE OR REPLACE, IF NOT EXISTS,
 * DROP ... IF EXISTS first), so the migration can be generated and applied again when a model is
 * added. The library calls and checks the functions by these names: the app must be configured
 * with the same ones (PrismaModule option `sql`).
 */
import { qualifiedFunction, type TenancySqlNames } from '../core/sql/tenancy-sql-names';

/** Role names, each already an SQL identifier. */
export interface RoleIdentifiers {
  runtime: string;
  admin: string;
}

/** Creates the two roles when absent, and takes away what would let them skip Row-Level Security. */
export function rolesSql({ runtime, admin }: RoleIdentifiers, literals: RoleIdentifiers): string {
  return `-- Roles. Role names are cluster-wide; an operator may have created them already (with a password).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literals.runtime}) THEN
    CREATE ROLE ${runtime} LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literals.admin}) THEN
    CREATE ROLE ${admin} LOGIN;
  END IF;
END
$$;
ALTER ROLE ${runtime} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;
ALTER ROLE ${admin} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION;`;
}

/**
 * A function schema other than \`public\`: created when absent, usable (never writable) by the two
 * roles, so that policies and column defaults can call its functions. Empty for \`public\`.
 */
export function functionSchemaSql(
  { runtime, admin }: RoleIdentifiers,
  names: TenancySqlNames,
): string {
  if (names.functionSchema === 'public') return '';
  const schema = names.functionSchema;
  return `-- The tenancy functions' schema: the app roles may call its functions, never create objects in it.
CREATE SCHEMA IF NOT EXISTS ${schema};
REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${schema} TO ${runtime}, ${admin};

`;
}

/** Data-only privileges (no TRUNCATE, which ignores RLS), also for tables created later. */
export function grantsSql({ runtime, admin }: RoleIdentifiers): string {
  return `-- Privileges: data access only. No TRUNCATE (it ignores RLS), no REFERENCES, no TRIGGER, no DDL.
GRANT USAGE ON SCHEMA public TO ${runtime}, ${admin};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${runtime}, ${admin};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${runtime}, ${admin};
-- Prisma's own bookkeeping table is not data (it is absent in the shadow database of \`migrate diff\`).
DO $$
BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    REVOKE ALL ON TABLE _prisma_migrations FROM ${runtime}, ${admin};
  END IF;
END
$$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime}, ${admin};
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO ${runtime}, ${admin};`;
}

/**
 * The signing key's private table, the function that installs it, and the verifier of the signed
 * tenant setting with \`current_workspace_id()\` / \`current_app_user_id()\` on top (each under its
 * configured name), after the function schema when it is not \`public\`.
 */
export function settingVerifierSql(
  { runtime, admin }: RoleIdentifiers,
  names: TenancySqlNames,
): string {
  const fn = (name: Parameters<typeof qualifiedFunction>[1]) => qualifiedFunction(names, name);
  const key = names.privateSchema;
  return `${functionSchemaSql({ runtime, admin }, names)}CREATE SCHEMA IF NOT EXISTS ${key};
REVOKE ALL ON SCHEMA ${key} FROM PUBLIC;

CREATE TABLE IF NOT EXISTS ${key}.setting_key (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  key bytea NOT NULL CHECK (length(key) = 32),
  -- HMAC's inner and outer padded keys, precomputed (PostgreSQL has sha256 but no hmac without
  -- pgcrypto, which not every managed PostgreSQL lets an owner install).
  inner_key bytea NOT NULL,
  outer_key bytea NOT NULL,
  max_age_seconds integer NOT NULL CHECK (max_age_seconds BETWEEN 5 AND 86400),
  installed_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE ${key}.setting_key FROM PUBLIC;

-- Installs the signing key on first use (the library calls it at start-up, as the runtime role,
-- with a key derived from its configured secret). Returns 'installed' or 'unchanged'; a different
-- key is never replaced from here ('mismatch'): rotate it as the owner
-- (DELETE FROM ${key}.setting_key) and restart every app that shares the database.
CREATE OR REPLACE FUNCTION ${fn('installKeyFunction')}(new_key bytea, max_age_seconds integer)
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
  INSERT INTO ${key}.setting_key (key, inner_key, outer_key, max_age_seconds)
    VALUES (new_key, inner_key, outer_key, greatest(5, least(86400, coalesce(max_age_seconds, 300))))
    ON CONFLICT (singleton) DO NOTHING
    RETURNING key INTO stored;
  IF FOUND THEN
    RETURN 'installed';
  END IF;
  SELECT s.key INTO stored FROM ${key}.setting_key s;
  RETURN CASE WHEN stored = new_key THEN 'unchanged' ELSE 'mismatch' END;
END
$$;
REVOKE ALL ON FUNCTION ${fn('installKeyFunction')}(bytea, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ${fn('installKeyFunction')}(bytea, integer) TO ${runtime};

-- The verified claim \`part\` (1: workspace, 2: user) of the current tenant setting, or NULL.
CREATE OR REPLACE FUNCTION ${fn('claimFunction')}(part integer) RETURNS uuid
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  raw text := current_setting('${names.setting}', true);
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
  SELECT s.inner_key, s.outer_key, s.max_age_seconds INTO k FROM ${key}.setting_key s;
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
REVOKE ALL ON FUNCTION ${fn('claimFunction')}(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ${fn('claimFunction')}(integer) TO ${runtime}, ${admin};

-- The current workspace and user: verified claims of the setting, or NULL (fail closed).
-- Policies call them as \`(SELECT ${fn('tenantFunction')}())\`, which PostgreSQL evaluates once
-- per statement (an InitPlan) instead of once per row.
CREATE OR REPLACE FUNCTION ${fn('tenantFunction')}() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT ${fn('claimFunction')}(1) $$;

CREATE OR REPLACE FUNCTION ${fn('userFunction')}() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT ${fn('claimFunction')}(2) $$;`;
}

/** \`enable_tenant_rls(table, tenant_column)\`: RLS enabled and forced, one policy per command. */
export function enableTenantRlsSql({ admin }: RoleIdentifiers, names: TenancySqlNames): string {
  const enable = qualifiedFunction(names, 'enableFunction');
  return `CREATE OR REPLACE FUNCTION ${enable}(target regclass, tenant_column name DEFAULT 'workspace_id')
  RETURNS void
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  matches text := format('%I = (SELECT ${qualifiedFunction(names, 'tenantFunction')}())', tenant_column);
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
  EXECUTE format('CREATE POLICY admin_all ON %s FOR ALL TO ${admin} USING (true) WITH CHECK (true)', target);
END
$$;
REVOKE ALL ON FUNCTION ${enable}(regclass, name) FROM PUBLIC;`;
}

/** \`protect_keys(table, columns)\`: a trigger that refuses any change of the key columns. */
export const PROTECT_KEYS_SQL = `CREATE OR REPLACE FUNCTION public.refuse_key_change() RETURNS trigger
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
REVOKE ALL ON FUNCTION public.protect_keys(regclass, text[]) FROM PUBLIC;`;

/** \`check_user_references(table, columns)\`: a tenant row may only point at a user the writer sees. */
export const CHECK_USER_REFERENCES_SQL = `-- A tenant row may only point at a user the writer can see (the current user, or a member of the
-- current workspace). Foreign keys are checked without Row-Level Security, so without this a row
-- could reference any user whose id is known (and the tenant could then read that user through the
-- relation, or learn which ids exist). The check runs as the writer, under its policies; the owner
-- and the admin role see every user.
-- It runs BEFORE the row is written: an AFTER trigger would see the row itself, and a new
-- membership row would make its own user visible. An UPDATE checks only the references it changes:
-- one set earlier was checked then (and may point at a user the current writer cannot see, e.g. a
-- reviewer on Citus, where users are visible only to themselves).
CREATE OR REPLACE FUNCTION public.refuse_invisible_user_reference() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  column_name text;
  user_id uuid;
  unchanged boolean;
BEGIN
  FOREACH column_name IN ARRAY TG_ARGV LOOP
    IF TG_OP = 'UPDATE' THEN
      EXECUTE format('SELECT ($1).%I IS NOT DISTINCT FROM ($2).%I', column_name, column_name)
        INTO unchanged USING NEW, OLD;
      CONTINUE WHEN unchanged;
    END IF;
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
REVOKE ALL ON FUNCTION public.check_user_references(regclass, text[]) FROM PUBLIC;`;

/** No temporary objects for the application roles (a temp table could shadow a real one). */
export function revokeTemporarySql({ runtime, admin }: RoleIdentifiers): string {
  return `-- No temporary objects for the application roles: a temporary table named like a real one
-- would shadow it for unqualified SQL (pg_temp is searched first unless listed).
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM ${runtime}, ${admin}', current_database());
END
$$;`;
}
