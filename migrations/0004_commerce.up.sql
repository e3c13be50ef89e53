-- Commerce (upsert-product, checkout): housekeeping for idempotency keys.
--
-- An order keeps its idempotency key, request hash and expiry for 24 hours
-- (see functions/checkout). After that the key must neither block a new
-- order with the same key nor stay in the unique index forever. Checkout
-- clears the caller's own expired keys in the same statement that creates
-- the next order; this function clears everyone's, for a schedule (the daily
-- maintenance run, or pg_cron where available). The orders themselves stay:
-- only the three idempotency columns are emptied, which also takes the row
-- out of the partial unique index `orders_idempotency_key`.
--
-- Batched (p_limit rows per call) and SKIP LOCKED, so it never waits on a
-- checkout that is clearing the same row, and two overlapping runs share the
-- work. Returns the number of keys cleared; call again while it returns p_limit.
CREATE FUNCTION app.purge_expired_idempotency_keys(p_limit integer DEFAULT 10000)
  RETURNS integer
  LANGUAGE sql
  VOLATILE
  AS $$
    WITH expired AS (
      SELECT o.id
      FROM public.orders o
      WHERE o.idempotency_key IS NOT NULL AND o.idempotency_expires_at <= now()
      ORDER BY o.idempotency_expires_at
      LIMIT greatest(p_limit, 1)
      FOR UPDATE SKIP LOCKED
    ),
    cleared AS (
      UPDATE public.orders o
      SET idempotency_key = NULL, request_hash = NULL, idempotency_expires_at = NULL
      FROM expired e
      WHERE o.id = e.id
      RETURNING 1
    )
    SELECT count(*)::integer FROM cleared
  $$;
REVOKE ALL ON FUNCTION app.purge_expired_idempotency_keys(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.purge_expired_idempotency_keys(integer) TO service_role;
