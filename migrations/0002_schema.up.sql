-- The whole data model (DESIGN.md "Data model"): the seed's five tables plus
-- tenants, tenant_users and products; every row carries tenant_id NOT NULL;
-- user_id is the JWT `sub` with no foreign key (an external IdP has no auth.users).

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

-- updated_at only moves when the row really changed, so an idempotent
-- "cancel a cancelled booking" leaves it as it was.
CREATE FUNCTION app.touch_updated_at() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF NEW IS DISTINCT FROM OLD THEN
    NEW.updated_at := now();
  ELSE
    NEW.updated_at := OLD.updated_at;
  END IF;
  RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------
-- Tenants and membership
-- ---------------------------------------------------------------------------

CREATE TABLE public.tenants (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.tenant_users (
  tenant_id  uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  role       text NOT NULL CHECK (role IN ('admin', 'member')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX idx_tenant_users_user_id ON public.tenant_users (user_id);

-- Membership tests used by the policies below. They read tenant_users under
-- its own policy (a user sees only their own memberships), so no SECURITY
-- DEFINER is needed and the policies cannot recurse.
CREATE FUNCTION app.is_member(p_tenant uuid) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM public.tenant_users tu
      WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid()
    )
  $$;

CREATE FUNCTION app.is_admin(p_tenant uuid) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM public.tenant_users tu
      WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid() AND tu.role = 'admin'
    )
  $$;

-- The one call each request makes after BEGIN: switch to the caller's role,
-- publish the verified JWT claims exactly as PostgREST does (transaction-local),
-- bound the statements that follow, and check tenant membership.
-- It is a function, not SET statements, because RDS Proxy pins a client to a
-- server connection when it sees SET / set_config in the statement text.
-- Returns the caller's role in the tenant ('admin', 'member', or 'service_role').
-- A non-member gets SQLSTATE 42501, which the functions map to 403.
CREATE FUNCTION app.begin_request(p_claims jsonb, p_tenant uuid, p_timeout_ms integer)
  RETURNS text
  LANGUAGE plpgsql
  AS $$
DECLARE
  v_role text := coalesce(p_claims ->> 'role', 'authenticated');
  v_member text;
BEGIN
  IF v_role NOT IN ('authenticated', 'service_role') THEN
    RAISE EXCEPTION 'role not allowed' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('statement_timeout', greatest(p_timeout_ms, 1)::text, true);
  PERFORM set_config('request.jwt.claims', p_claims::text, true);
  PERFORM set_config('role', v_role, true);
  IF v_role = 'service_role' OR p_tenant IS NULL THEN
    RETURN v_role;
  END IF;
  SELECT tu.role INTO v_member
  FROM public.tenant_users tu
  WHERE tu.tenant_id = p_tenant AND tu.user_id = auth.uid();
  IF v_member IS NULL THEN
    RAISE EXCEPTION 'not a member of this tenant' USING ERRCODE = '42501';
  END IF;
  RETURN v_member;
END
$$;
REVOKE ALL ON FUNCTION app.begin_request(jsonb, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.begin_request(jsonb, uuid, integer) TO authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Products: the per-tenant catalog, the only source of prices
-- ---------------------------------------------------------------------------

CREATE TABLE public.products (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id  uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  sku        text NOT NULL CHECK (sku ~ '^[A-Za-z0-9._-]{1,64}$'),
  name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  unit_price numeric(15, 4) NOT NULL CHECK (unit_price > 0),
  currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT products_tenant_sku_key UNIQUE (tenant_id, sku)
);

-- ---------------------------------------------------------------------------
-- Bookings
-- ---------------------------------------------------------------------------

CREATE TABLE public.bookings (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slot_id    text NOT NULL CHECK (char_length(slot_id) BETWEEN 1 AND 200),
  tenant_id  uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  user_name  text NOT NULL CHECK (char_length(user_name) BETWEEN 1 AND 200),
  user_email text NOT NULL CHECK (char_length(user_email) BETWEEN 3 AND 254),
  status     text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- Replaces the seed's UNIQUE (slot_id, tenant_id), which never freed a cancelled slot:
-- at most one *active* booking per slot, enforced by the database under any concurrency.
CREATE UNIQUE INDEX bookings_active_slot_key ON public.bookings (tenant_id, slot_id)
  WHERE status IN ('pending', 'confirmed');
CREATE INDEX idx_bookings_tenant_id ON public.bookings (tenant_id);
CREATE INDEX idx_bookings_user_id ON public.bookings (user_id);
CREATE INDEX idx_bookings_created_at ON public.bookings (created_at);
CREATE INDEX idx_bookings_status ON public.bookings (status);

-- ---------------------------------------------------------------------------
-- Conversation scores
-- ---------------------------------------------------------------------------

CREATE TABLE public.conversation_scores (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id text NOT NULL CHECK (char_length(session_id) BETWEEN 1 AND 200),
  tenant_id  uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  user_id    uuid NOT NULL,
  score      integer NOT NULL CHECK (score BETWEEN 0 AND 100),
  feedback   text,
  metadata   jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_conversation_scores_session_id ON public.conversation_scores (session_id);
CREATE INDEX idx_conversation_scores_tenant_id ON public.conversation_scores (tenant_id);
CREATE INDEX idx_conversation_scores_created_at ON public.conversation_scores (created_at);
CREATE INDEX idx_conversation_scores_score ON public.conversation_scores (score);

-- ---------------------------------------------------------------------------
-- Analytics metrics: partitioned by month; the partition key must be in the PK
-- ---------------------------------------------------------------------------

CREATE TABLE public.analytics_metrics (
  id         uuid NOT NULL DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_.:/-]{0,127}$'),
  value      numeric NOT NULL,
  tenant_id  uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  tags       jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- No insert is ever rejected for a missing month; create-partitions moves
-- such rows into their month's partition when it creates it.
CREATE TABLE public.analytics_metrics_default PARTITION OF public.analytics_metrics DEFAULT;

DO $$
DECLARE
  m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
  FOR i IN 0..3 LOOP
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.analytics_metrics FOR VALUES FROM (%L) TO (%L)',
      'analytics_metrics_' || to_char(m + make_interval(months => i), 'YYYY_MM'),
      (m + make_interval(months => i))::date::text || ' 00:00:00+00',
      (m + make_interval(months => i + 1))::date::text || ' 00:00:00+00');
  END LOOP;
END
$$;

CREATE INDEX idx_analytics_metrics_name ON public.analytics_metrics (name);
CREATE INDEX idx_analytics_metrics_tenant_id ON public.analytics_metrics (tenant_id);
CREATE INDEX idx_analytics_metrics_created_at ON public.analytics_metrics (created_at);
CREATE INDEX idx_analytics_metrics_tags ON public.analytics_metrics USING gin (tags);
-- The query a dashboard actually runs: one tenant's series by name over time.
CREATE INDEX idx_analytics_metrics_tenant_name_time ON public.analytics_metrics (tenant_id, name, created_at);

-- ---------------------------------------------------------------------------
-- Orders
-- ---------------------------------------------------------------------------

CREATE TABLE public.orders (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  order_id         text NOT NULL UNIQUE,
  tenant_id        uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  user_id          uuid NOT NULL,
  customer_email   text,
  items            jsonb NOT NULL,
  total            numeric(10, 2) NOT NULL CHECK (total > 0),
  currency         text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
  status           text NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'cancelled')),
  payment_method   text,
  transaction_id   text,
  shipping_address jsonb,
  -- Idempotency: the key is unique per (tenant, user) while it lives; after
  -- expiry checkout clears it from the old order so it can be used afresh.
  idempotency_key        text,
  request_hash           text,
  idempotency_expires_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_idempotency_complete CHECK (
    (idempotency_key IS NULL) = (request_hash IS NULL)
    AND (idempotency_key IS NULL) = (idempotency_expires_at IS NULL))
);
CREATE UNIQUE INDEX orders_idempotency_key ON public.orders (tenant_id, user_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX idx_orders_idempotency_expires_at ON public.orders (idempotency_expires_at)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX idx_orders_tenant_id ON public.orders (tenant_id);
CREATE INDEX idx_orders_user_id ON public.orders (user_id);
CREATE INDEX idx_orders_customer_email ON public.orders (customer_email);
CREATE INDEX idx_orders_status ON public.orders (status);
CREATE INDEX idx_orders_created_at ON public.orders (created_at);

-- ---------------------------------------------------------------------------
-- PHI detection events: the HIPAA audit log (masked values and context only)
-- ---------------------------------------------------------------------------

CREATE TABLE public.phi_detection_events (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id    uuid NOT NULL REFERENCES public.tenants (id) ON DELETE CASCADE,
  user_id      uuid,
  session_id   text,
  phi_type     text NOT NULL,
  masked_value text,
  context      text,
  action_taken text NOT NULL CHECK (action_taken IN ('masked', 'blocked', 'alerted')),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idx_phi_events_tenant_id ON public.phi_detection_events (tenant_id);
CREATE INDEX idx_phi_events_created_at ON public.phi_detection_events (created_at);
CREATE INDEX idx_phi_events_phi_type ON public.phi_detection_events (phi_type);

-- ---------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------

CREATE TRIGGER tenants_touch BEFORE UPDATE ON public.tenants
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER tenant_users_touch BEFORE UPDATE ON public.tenant_users
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER products_touch BEFORE UPDATE ON public.products
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER bookings_touch BEFORE UPDATE ON public.bookings
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER conversation_scores_touch BEFORE UPDATE ON public.conversation_scores
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();
CREATE TRIGGER orders_touch BEFORE UPDATE ON public.orders
  FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at();

-- ---------------------------------------------------------------------------
-- Row Level Security: enabled and forced on every table
-- ---------------------------------------------------------------------------

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenants FORCE ROW LEVEL SECURITY;
ALTER TABLE public.tenant_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tenant_users FORCE ROW LEVEL SECURITY;
ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.products FORCE ROW LEVEL SECURITY;
ALTER TABLE public.bookings ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.bookings FORCE ROW LEVEL SECURITY;
ALTER TABLE public.conversation_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.conversation_scores FORCE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_metrics ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.analytics_metrics FORCE ROW LEVEL SECURITY;
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.orders FORCE ROW LEVEL SECURITY;
ALTER TABLE public.phi_detection_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.phi_detection_events FORCE ROW LEVEL SECURITY;

-- service_role: the backend's own jobs; it has no BYPASSRLS, so it gets explicit policies.
CREATE POLICY service_all ON public.tenants FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.tenant_users FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.products FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.bookings FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.conversation_scores FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.analytics_metrics FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.orders FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY service_all ON public.phi_detection_events FOR ALL TO service_role USING (true) WITH CHECK (true);

-- authenticated: members, admins and owners. `(SELECT auth.uid())` is evaluated
-- once per statement rather than once per row.
CREATE POLICY member_read ON public.tenants FOR SELECT TO authenticated
  USING (app.is_member(id));

CREATE POLICY own_memberships ON public.tenant_users FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));

CREATE POLICY member_read ON public.products FOR SELECT TO authenticated
  USING (app.is_member(tenant_id));
CREATE POLICY admin_insert ON public.products FOR INSERT TO authenticated
  WITH CHECK (app.is_admin(tenant_id));
CREATE POLICY admin_update ON public.products FOR UPDATE TO authenticated
  USING (app.is_admin(tenant_id)) WITH CHECK (app.is_admin(tenant_id));

-- A booking names a patient: members see their own, admins their tenant's.
-- (The seed let every member read every booking of the tenant.)
CREATE POLICY owner_or_admin_read ON public.bookings FOR SELECT TO authenticated
  USING ((user_id = (SELECT auth.uid()) AND app.is_member(tenant_id)) OR app.is_admin(tenant_id));
CREATE POLICY member_insert_own ON public.bookings FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()) AND app.is_member(tenant_id));
-- Updating is cancelling: the column grant below allows only `status`, and
-- the check allows only 'cancelled'.
CREATE POLICY owner_or_admin_cancel ON public.bookings FOR UPDATE TO authenticated
  USING ((user_id = (SELECT auth.uid()) AND app.is_member(tenant_id)) OR app.is_admin(tenant_id))
  WITH CHECK (status = 'cancelled');

CREATE POLICY owner_or_admin_read ON public.conversation_scores FOR SELECT TO authenticated
  USING ((user_id = (SELECT auth.uid()) AND app.is_member(tenant_id)) OR app.is_admin(tenant_id));
CREATE POLICY member_insert_own ON public.conversation_scores FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()) AND app.is_member(tenant_id));

-- Replaces the seed's `WITH CHECK (true)`: a member writes only into their own tenant.
CREATE POLICY admin_read ON public.analytics_metrics FOR SELECT TO authenticated
  USING (app.is_admin(tenant_id));
CREATE POLICY member_insert ON public.analytics_metrics FOR INSERT TO authenticated
  WITH CHECK (app.is_member(tenant_id));

-- The seed also matched orders by customer_email against auth.users; an
-- external IdP has no auth.users, and an unverified email is no proof, so not kept.
CREATE POLICY owner_or_admin_read ON public.orders FOR SELECT TO authenticated
  USING ((user_id = (SELECT auth.uid()) AND app.is_member(tenant_id)) OR app.is_admin(tenant_id));
CREATE POLICY member_insert_own ON public.orders FOR INSERT TO authenticated
  WITH CHECK (user_id = (SELECT auth.uid()) AND app.is_member(tenant_id));
-- Only to clear an expired idempotency key of one's own order (see checkout).
CREATE POLICY owner_update ON public.orders FOR UPDATE TO authenticated
  USING (user_id = (SELECT auth.uid()) AND app.is_member(tenant_id))
  WITH CHECK (user_id = (SELECT auth.uid()) AND app.is_member(tenant_id));

CREATE POLICY admin_read ON public.phi_detection_events FOR SELECT TO authenticated
  USING (app.is_admin(tenant_id));
CREATE POLICY member_insert ON public.phi_detection_events FOR INSERT TO authenticated
  WITH CHECK (app.is_member(tenant_id) AND (user_id IS NULL OR user_id = (SELECT auth.uid())));

-- ---------------------------------------------------------------------------
-- Grants: the policies decide rows, the grants decide tables and columns.
-- anon gets nothing. Partitions get no grants: only the parent is reachable.
-- ---------------------------------------------------------------------------

GRANT SELECT ON public.tenants, public.tenant_users TO authenticated;
GRANT SELECT, INSERT ON public.products TO authenticated;
GRANT UPDATE (name, unit_price, currency, active) ON public.products TO authenticated;
GRANT SELECT, INSERT ON public.bookings TO authenticated;
GRANT UPDATE (status) ON public.bookings TO authenticated;
GRANT SELECT, INSERT ON public.conversation_scores TO authenticated;
GRANT SELECT, INSERT ON public.analytics_metrics TO authenticated;
GRANT SELECT, INSERT ON public.orders TO authenticated;
GRANT UPDATE (idempotency_key, request_hash, idempotency_expires_at) ON public.orders TO authenticated;
GRANT SELECT, INSERT ON public.phi_detection_events TO authenticated;

GRANT SELECT, INSERT, UPDATE, DELETE ON
  public.tenants, public.tenant_users, public.products, public.bookings,
  public.conversation_scores, public.analytics_metrics, public.orders,
  public.phi_detection_events
  TO service_role;
GRANT EXECUTE ON FUNCTION app.is_member(uuid), app.is_admin(uuid) TO authenticated, service_role;
