-- Analytics: the work of the scheduled create-partitions function, as one
-- SQL function so the Lambda needs one round trip and no DDL of its own.
--
-- app.ensure_metric_partitions(months_ahead, now, retention_months, retention_mode)
-- ensures analytics_metrics_default and analytics_metrics_YYYY_MM for the
-- current UTC month of `now` (default: the transaction's now()) through
-- `months_ahead` months later (0-24), and returns
--   {"created": [...], "existing": [...], "moved_rows": n}
-- plus "detached" or "dropped": [...] when retention is asked for.
--
-- Rows that landed in the default partition for a month being created are
-- moved into the new partition in the same transaction: Postgres refuses to
-- create a partition while the default partition holds rows of its range
-- (SQLSTATE 23514), so the default partition is detached for the moment of
-- the move and attached again.
--
-- Two overlapping runs are safe: a transaction-scoped advisory lock makes
-- the second wait for the first and then find everything existing.
--
-- SECURITY DEFINER because creating, detaching and attaching partitions
-- needs the table owner's rights; only service_role may call it, and the
-- search_path is pinned so no caller-controlled schema is consulted.
CREATE FUNCTION app.ensure_metric_partitions(
  p_months_ahead integer,
  p_now timestamptz DEFAULT NULL,
  p_retention_months integer DEFAULT NULL,
  p_retention_mode text DEFAULT 'detach')
  RETURNS jsonb
  LANGUAGE plpgsql
  SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  -- Bounds are written as UTC literals whatever the caller's TimeZone.
  SET TimeZone = 'UTC'
  -- DETACH needs an exclusive lock on the parent: give up (and retry on the
  -- next schedule) rather than queue every insert behind a long query.
  SET lock_timeout = '10s'
  AS $$
DECLARE
  v_parent constant regclass := 'public.analytics_metrics'::regclass;
  v_first date;
  v_month date;
  v_name text;
  v_from timestamptz;
  v_to timestamptz;
  v_created text[] := '{}';
  v_existing text[] := '{}';
  v_retired text[] := '{}';
  v_moved bigint := 0;
  v_count bigint;
  v_result jsonb;
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead NOT BETWEEN 0 AND 24 THEN
    RAISE EXCEPTION 'months_ahead must be between 0 and 24' USING ERRCODE = '22023';
  END IF;
  IF p_retention_months IS NOT NULL AND p_retention_months NOT BETWEEN 1 AND 1200 THEN
    RAISE EXCEPTION 'retention_months must be between 1 and 1200' USING ERRCODE = '22023';
  END IF;
  IF p_retention_mode IS NULL OR p_retention_mode NOT IN ('detach', 'drop') THEN
    RAISE EXCEPTION 'retention_mode must be detach or drop' USING ERRCODE = '22023';
  END IF;

  -- One run at a time; released at COMMIT / ROLLBACK (pooler-safe, no session lock).
  PERFORM pg_advisory_xact_lock(hashtext('app.ensure_metric_partitions'));

  v_first := date_trunc('month', coalesce(p_now, now()) AT TIME ZONE 'UTC')::date;

  -- The default partition first: without it an insert for an uncovered month fails.
  IF EXISTS (SELECT 1 FROM pg_inherits inh JOIN pg_class c ON c.oid = inh.inhrelid
             WHERE inh.inhparent = v_parent AND c.relname = 'analytics_metrics_default') THEN
    v_existing := v_existing || 'analytics_metrics_default'::text;
  ELSIF to_regclass('public.analytics_metrics_default') IS NOT NULL THEN
    RAISE EXCEPTION 'analytics_metrics_default exists but is not a partition of analytics_metrics'
      USING ERRCODE = '42P07';
  ELSE
    CREATE TABLE public.analytics_metrics_default PARTITION OF public.analytics_metrics DEFAULT;
    v_created := v_created || 'analytics_metrics_default'::text;
  END IF;

  FOR i IN 0..p_months_ahead LOOP
    v_month := (v_first + make_interval(months => i))::date;
    v_name := 'analytics_metrics_' || to_char(v_month, 'YYYY_MM');
    v_from := v_month::timestamp AT TIME ZONE 'UTC';
    v_to := (v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';

    IF EXISTS (SELECT 1 FROM pg_inherits inh JOIN pg_class c ON c.oid = inh.inhrelid
               WHERE inh.inhparent = v_parent AND c.relname = v_name) THEN
      v_existing := v_existing || v_name;
      CONTINUE;
    END IF;
    IF to_regclass(format('public.%I', v_name)) IS NOT NULL THEN
      -- A table of that name that is not attached: an operator's doing; do not guess.
      RAISE EXCEPTION '% exists but is not a partition of analytics_metrics', v_name
        USING ERRCODE = '42P07';
    END IF;

    IF EXISTS (SELECT 1 FROM public.analytics_metrics_default
               WHERE created_at >= v_from AND created_at < v_to) THEN
      ALTER TABLE public.analytics_metrics DETACH PARTITION public.analytics_metrics_default;
      EXECUTE format(
        'CREATE TABLE public.%I PARTITION OF public.analytics_metrics FOR VALUES FROM (%L) TO (%L)',
        v_name, v_from, v_to);
      -- Straight from partition to partition: neither has RLS of its own
      -- (only the parent has), and `*` follows the parent's column list.
      EXECUTE format(
        'WITH moved AS (DELETE FROM public.analytics_metrics_default
                        WHERE created_at >= $1 AND created_at < $2 RETURNING *)
         INSERT INTO public.%I SELECT * FROM moved', v_name)
        USING v_from, v_to;
      GET DIAGNOSTICS v_count = ROW_COUNT;
      v_moved := v_moved + v_count;
      ALTER TABLE public.analytics_metrics ATTACH PARTITION public.analytics_metrics_default DEFAULT;
    ELSE
      EXECUTE format(
        'CREATE TABLE public.%I PARTITION OF public.analytics_metrics FOR VALUES FROM (%L) TO (%L)',
        v_name, v_from, v_to);
    END IF;
    v_created := v_created || v_name;
  END LOOP;

  v_result := jsonb_build_object(
    'created', to_jsonb(v_created),
    'existing', to_jsonb(v_existing),
    'moved_rows', v_moved);

  -- Retention, only when asked for: monthly partitions wholly before the
  -- current month minus `p_retention_months` months are detached (kept as
  -- plain tables for an operator to archive) or dropped.
  IF p_retention_months IS NOT NULL THEN
    FOR v_name IN
      SELECT c.relname::text FROM pg_inherits inh JOIN pg_class c ON c.oid = inh.inhrelid
      WHERE inh.inhparent = v_parent
        AND c.relname ~ '^analytics_metrics_[0-9]{4}_[0-9]{2}$'
        AND to_date(substr(c.relname, 19), 'YYYY_MM') < v_first - make_interval(months => p_retention_months)
      ORDER BY c.relname
    LOOP
      IF p_retention_mode = 'drop' THEN
        EXECUTE format('DROP TABLE public.%I', v_name);
      ELSE
        EXECUTE format('ALTER TABLE public.analytics_metrics DETACH PARTITION public.%I', v_name);
      END IF;
      v_retired := v_retired || v_name;
    END LOOP;
    v_result := v_result || jsonb_build_object(
      CASE p_retention_mode WHEN 'drop' THEN 'dropped' ELSE 'detached' END, to_jsonb(v_retired));
  END IF;

  RETURN v_result;
END
$$;
REVOKE ALL ON FUNCTION app.ensure_metric_partitions(integer, timestamptz, integer, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.ensure_metric_partitions(integer, timestamptz, integer, text) TO service_role;
