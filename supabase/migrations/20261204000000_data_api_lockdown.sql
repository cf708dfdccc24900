-- Nothing here is the Data API's.
--
-- Supabase serves the `public` schema over its Data API (PostgREST, and GraphQL) to any
-- signed-in user as role `authenticated`, and to anyone as `anon`, with whatever those
-- roles are granted; Supabase grants them everything in `public` by default. The app uses
-- Supabase only to sign in, never for tables, while this service trusts what the tables
-- hold: media paths and statuses, identification events and corrections, sync versions,
-- emails. A security review showed that, through that door, a user could insert a media
-- row for a catalog image and have the service delete it, forge identification events,
-- file corrections against another user's trace, and rewrite their own sync version.
--
-- So `anon` and `authenticated` keep no grant on anything in `public` (tables, sequences,
-- functions), now or later (default privileges), and no storage policy lets them touch
-- user uploads or tutorials directly (the service reaches storage with its own key and
-- hands out short-lived signed URLs). The service's per-request transactions, which ran
-- as `authenticated` so that Row Level Security applied, run as a role of their own,
-- `machinemate_request`, which the service's database user may switch to and nothing on
-- the Data API can: it is a member of `authenticated`, so every policy written for
-- `authenticated` still applies to it, row by row, as before. tests/api/data_api.rs tries
-- every read and write on every table as PostgREST would.

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'machinemate_request') then
    create role machinemate_request nologin inherit;
  end if;
end
$$;
comment on role machinemate_request is
  'machinemate-api''s per-request transactions (Row Level Security applies); not for the Data API';
grant authenticated to machinemate_request;
-- The user that migrates is the service's (see docs/cutover.md and terraform/README.md).
do $$
begin
  execute format('grant machinemate_request to %I', current_user);
end
$$;

revoke all on all tables in schema public from anon, authenticated;
revoke all on all sequences in schema public from anon, authenticated;
revoke all on all routines in schema public from public, anon, authenticated;
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;
alter default privileges in schema public revoke all on routines from public, anon, authenticated;

-- What the per-request transactions need, and no more (a later table gets nothing until
-- its migration grants it); the policies then decide which rows. Columns the service
-- keeps for itself (emails, sync versions, storage paths, statuses but for completing an
-- upload) are not the request role's to change.
grant select, update (display_name, avatar_url, preferences), delete on public.users to machinemate_request;
grant select on public.machines, public.catalog_state, public.sync_tombstones,
  public.identification_quota, public.identification_events to machinemate_request;
grant select, insert, update (notes), delete on public.favorites to machinemate_request;
grant select, insert, delete on public.history to machinemate_request;
grant select, insert, update (status, size_bytes), delete on public.media_assets to machinemate_request;
grant select, insert, update (machine_id, note) on public.identification_corrections to machinemate_request;
grant select, insert, delete on public.idempotency_keys to machinemate_request;

-- Storage: user uploads and tutorials are reached only through the service's signed
-- URLs, never with a user's own token (a user could otherwise replace a photo after the
-- service checked it). Catalog images stay public, as their bucket is.
drop policy if exists "tutorials for signed-in users" on storage.objects;
drop policy if exists "user uploads readable by owner" on storage.objects;
drop policy if exists "user uploads written by owner" on storage.objects;
drop policy if exists "user uploads updated by owner" on storage.objects;
drop policy if exists "user uploads deleted by owner" on storage.objects;
