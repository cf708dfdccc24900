-- Two gaps in the Data API lockdown (20261204000000), and two policies that now say
-- what the handlers already enforce.
--
-- 1. Functions created later. Postgres lets PUBLIC execute every new function, by a
--    default privilege that is global, not per schema: `alter default privileges in
--    schema public revoke ... from public` cannot take it away (per-schema defaults only
--    add to the global ones), so a function a later migration or an operator created in
--    `public` was executable by `anon` and `authenticated`. The global default itself is
--    revoked here, for the user that migrates (the one that creates the service's
--    objects). tests/api/data_api.rs creates functions after the migrations to prove it.
--
-- 2. The per-request role (`machinemate_request`, a member of `authenticated`) could
--    insert a correction against another user's trace, and a media row in the catalog
--    or tutorial bucket. The routes never do; the policies now refuse both too.

alter default privileges revoke execute on functions from public;

drop policy if exists "corrections are owner-only" on public.identification_corrections;
create policy "corrections are owner-only, of own identifications" on public.identification_corrections
  for all to authenticated
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and exists (
      select 1 from public.identification_events e
      where e.trace_id = identification_corrections.trace_id
        and e.user_id = (select auth.uid())
    )
  );

drop policy if exists "media written by owner" on public.media_assets;
create policy "media written by owner, in user uploads" on public.media_assets
  for insert to authenticated
  with check (owner_id = (select auth.uid()) and bucket = 'user-uploads');
drop policy if exists "media updated by owner" on public.media_assets;
create policy "media updated by owner, in user uploads" on public.media_assets
  for update to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()) and bucket = 'user-uploads');
