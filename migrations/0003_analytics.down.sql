-- Reverts 0003. Partitions the function created stay: they are part of
-- analytics_metrics (0002) and hold its data; 0002's down step drops them
-- with their parent.
DROP FUNCTION IF EXISTS app.ensure_metric_partitions(integer, timestamptz, integer, text);
