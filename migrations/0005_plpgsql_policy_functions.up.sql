-- The membership tests the row-level security policies call, app.is_member
-- and app.is_admin, rewritten in PL/pgSQL with the same meaning.
--
-- Why: as SQL-language functions with an EXISTS subquery they cannot be
-- inlined, and PostgreSQL (before 18) keeps the plan of a non-inlined SQL
-- function only for the one statement that calls it, so every INSERT,
-- UPDATE or SELECT under a policy parsed and planned the membership query
-- again. PL/pgSQL keeps its plans for the life of the server connection,
-- which behind a pooler is long. Measured with pgbench (BENCHMARKS.md).
--
-- They still read tenant_users under its own policy (no SECURITY DEFINER).
-- CREATE OR REPLACE keeps the grants and the policies that use them.

CREATE OR REPLACE FUNCTION app.is_member(p_tenant uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM public.tenant_users tu
    WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid()
  );
END
$$;

CREATE OR REPLACE FUNCTION app.is_admin(p_tenant uuid) RETURNS boolean
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT 1 FROM public.tenant_users tu
    WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid() AND tu.role = 'admin'
  );
END
$$;
