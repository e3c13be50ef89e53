-- + app.begin_request (role switch, claims, statement timeout, membership),
-- still into the copy without RLS or foreign key.
\set s random(1, 9000000000000000000)
\startpipeline
BEGIN;
SELECT app.begin_request('{"sub":"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb","role":"authenticated","aud":"authenticated","exp":9999999999}', '11111111-1111-4111-8111-111111111111', 5000);
INSERT INTO public.bench_raw (tenant_id, slot_id, user_id, user_name, user_email, status) VALUES ('11111111-1111-4111-8111-111111111111', 'pg-' || :s, 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'Ada Patient', 'ada@example.com', 'confirmed') RETURNING id, created_at;
COMMIT;
\endpipeline
