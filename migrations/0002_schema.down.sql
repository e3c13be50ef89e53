-- Reverts 0002. This drops the data in these tables: take a snapshot first
-- (see README "Rolling back"). Partitions go with their parent.
DROP TABLE IF EXISTS public.phi_detection_events;
DROP TABLE IF EXISTS public.orders;
DROP TABLE IF EXISTS public.analytics_metrics;
DROP TABLE IF EXISTS public.conversation_scores;
DROP TABLE IF EXISTS public.bookings;
DROP TABLE IF EXISTS public.products;
DROP TABLE IF EXISTS public.tenant_users;
DROP TABLE IF EXISTS public.tenants;
DROP FUNCTION IF EXISTS app.begin_request(jsonb, uuid, integer);
DROP FUNCTION IF EXISTS app.is_admin(uuid);
DROP FUNCTION IF EXISTS app.is_member(uuid);
DROP FUNCTION IF EXISTS app.touch_updated_at();
