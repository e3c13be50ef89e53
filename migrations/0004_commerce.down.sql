-- Reverts 0004. No data is lost: keys already cleared stay cleared.
DROP FUNCTION IF EXISTS app.purge_expired_idempotency_keys(integer);
