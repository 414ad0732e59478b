-- An UPDATE checks only the user references it changes: see refuse_invisible_user_reference().
-- A tenant row may only point at a user the writer can see (the current user, or a member of the
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
REVOKE ALL ON FUNCTION public.check_user_references(regclass, text[]) FROM PUBLIC;

SELECT public.check_user_references('public.workspace_members', ARRAY['user_id']);
SELECT public.check_user_references('public.approval_items', ARRAY['created_by_id', 'decided_by_id']);
SELECT public.check_user_references('public.approval_comments', ARRAY['author_id']);
SELECT public.check_user_references('public.audit_logs', ARRAY['actor_user_id']);
