-- Back to the SQL-language definitions of migration 0002.

CREATE OR REPLACE FUNCTION app.is_member(p_tenant uuid) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM public.tenant_users tu
      WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid()
    )
  $$;

CREATE OR REPLACE FUNCTION app.is_admin(p_tenant uuid) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM public.tenant_users tu
      WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid() AND tu.role = 'admin'
    )
  $$;
