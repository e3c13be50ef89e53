-- Drops only what 0001 created. The roles are cluster-wide and may be shared
-- with other databases (and with Supabase itself), so they are left in place.
DROP SCHEMA IF EXISTS app CASCADE;

DO $$
BEGIN
  IF to_regprocedure('auth.uid()') IS NOT NULL
     AND obj_description('auth.uid()'::regprocedure, 'pg_proc') = 'created by lambda-backend migrations' THEN
    DROP FUNCTION auth.uid();
  END IF;
  IF to_regprocedure('auth.jwt()') IS NOT NULL
     AND obj_description('auth.jwt()'::regprocedure, 'pg_proc') = 'created by lambda-backend migrations' THEN
    DROP FUNCTION auth.jwt();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'auth')
     AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'auth') THEN
    DROP SCHEMA auth;
  END IF;
END
$$;
