-- What book sends (functions/book, shared::db::tenant_tx): BEGIN,
-- app.begin_request, the INSERT into bookings under its policy and foreign
-- key, COMMIT, in one pipeline.
\set s random(1, 9000000000000000000)
\startpipeline
BEGIN;
SELECT app.begin_request('{"sub":"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb","role":"authenticated","aud":"authenticated","exp":9999999999}', '11111111-1111-4111-8111-111111111111', 5000);
INSERT INTO public.bookings (tenant_id, slot_id, user_id, user_name, user_email, status) VALUES ('11111111-1111-4111-8111-111111111111', 'pg-' || :s, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Ada Patient', 'ada@example.com', 'confirmed') RETURNING id, tenant_id, slot_id, user_id, user_name, user_email, status, created_at, updated_at;
COMMIT;
\endpipeline
