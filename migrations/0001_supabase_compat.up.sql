-- What Supabase provides, created only where it is missing, so that the same
-- migrations run on Supabase, on RDS and on a laptop: the `auth` schema with
-- `auth.uid()` / `auth.jwt()`, and the roles `anon`, `authenticated`, `service_role`.
-- Plus our own `app` schema with the per-request entry point `app.begin_request`.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    -- No BYPASSRLS: service_role gets explicit policies instead, so the same
    -- files work where the migrating user may not grant that attribute (RDS).
    CREATE ROLE service_role NOLOGIN NOINHERIT;
  END IF;
  -- The connecting user switches to these roles per transaction, so it must be a member.
  IF NOT pg_has_role(current_user, 'authenticated', 'MEMBER') THEN
    EXECUTE format('GRANT authenticated TO %I', current_user);
  END IF;
  IF NOT pg_has_role(current_user, 'service_role', 'MEMBER') THEN
    EXECUTE format('GRANT service_role TO %I', current_user);
  END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS auth;

DO $$
BEGIN
  IF to_regprocedure('auth.uid()') IS NULL THEN
    -- Same definition as Supabase's: the `sub` claim of the current request.
    CREATE FUNCTION auth.uid() RETURNS uuid
      LANGUAGE sql STABLE
      AS $f$
        SELECT nullif(
          coalesce(
            nullif(current_setting('request.jwt.claim.sub', true), ''),
            nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
          ), '')::uuid
      $f$;
    COMMENT ON FUNCTION auth.uid() IS 'created by lambda-backend migrations';
  END IF;
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb
      LANGUAGE sql STABLE
      AS $f$
        SELECT coalesce(
          nullif(current_setting('request.jwt.claim', true), ''),
          nullif(current_setting('request.jwt.claims', true), '')
        )::jsonb
      $f$;
    COMMENT ON FUNCTION auth.jwt() IS 'created by lambda-backend migrations';
  END IF;
END
$$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

CREATE SCHEMA IF NOT EXISTS app;
GRANT USAGE ON SCHEMA app TO authenticated, service_role;
