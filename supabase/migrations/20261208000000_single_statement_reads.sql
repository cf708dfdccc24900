-- The reads of the caller's own rows as one statement each.
--
-- A favorites list, a history page and an incremental sync each sent the scope
-- (machinemate_scope) and their query in one transaction: BEGIN, the scope, the query,
-- COMMIT, parsed and planned by Postgres on every request (simple protocol) or sent as
-- four messages. Each read function below is that transaction as one call: it scopes
-- the statement to the caller with machinemate_enter (the deleted-account check, the
-- role machinemate_request, the claims; all local to the statement's own transaction)
-- and then reads, as machinemate_request, under the same row security policies and the same
-- explicit `user_id = auth.uid()` as before. The service prepares the call once per
-- connection (src/db/rls.rs, `UserTx::call`), so a request is one Bind/Execute and
-- PL/pgSQL keeps each query's plan for the life of the connection. Postgres plans a
-- query inside a function when it runs, after the role is switched, so row security
-- applies to it; a kept plan is re-checked whenever the role differs from the one it
-- was planned for.
--
-- SECURITY INVOKER, like machinemate_scope: only a user that may switch to
-- machinemate_request (the service's) can run them; anon and authenticated cannot call
-- them at all.

-- Scopes the current transaction (or the one statement running) to the caller with
-- `claims`: the deleted-account check of machinemate_scope (migration 20261207011000),
-- then the role machinemate_request, the claims, and the claims' subject on its own in
-- request.jwt.claim.sub, which auth.uid() reads before it would parse the claims again
-- (parsing them was an eighth of Postgres's time for a favorites list). Each setting is
-- an assignment, which PL/pgSQL evaluates directly, where a PERFORM runs a query through
-- the executor. machinemate_scope is this and the timeouts.
create or replace function public.machinemate_enter(claims text)
returns boolean
language plpgsql
volatile
as $$
declare
  parsed jsonb := claims::jsonb;
  sub text := parsed ->> 'sub';
  done text;
begin
  if exists (
    select 1 from public.deleted_accounts d
    where d.user_id = sub::uuid
      and d.deleted_at >= pg_catalog.to_timestamp(coalesce((parsed ->> 'iat')::double precision, 0))
  ) then
    raise exception using errcode = 'MM401', message = 'account deleted',
      detail = 'the token was issued before its account was deleted';
  end if;
  done := pg_catalog.set_config('role', 'machinemate_request', true);
  done := pg_catalog.set_config('request.jwt.claims', claims, true);
  done := pg_catalog.set_config('request.jwt.claim.sub', coalesce(sub, ''), true);
  return true;
end
$$;
comment on function public.machinemate_enter(text) is
  'machinemate-api: scopes the current transaction or statement to one user (role, claims)';
revoke all on function public.machinemate_enter(text) from public, anon, authenticated;

create or replace function public.machinemate_scope(claims text, statement_timeout_ms bigint)
returns void
language plpgsql
volatile
as $$
declare
  done text;
begin
  perform public.machinemate_enter(claims);
  done := pg_catalog.set_config('idle_in_transaction_session_timeout', '3000', true);
  if statement_timeout_ms is not null then
    done := pg_catalog.set_config('statement_timeout', statement_timeout_ms::text, true);
  end if;
end
$$;

-- The caller's favorites, newest first (the order the app shows).
create or replace function public.machinemate_read_favorites(claims text)
returns table (machine_id text, created_at timestamptz, notes text, updated_at timestamptz)
language plpgsql
volatile
as $$
declare
  entered boolean := public.machinemate_enter(claims);
begin
  return query
    select f.machine_id, f.created_at, f.notes, f.updated_at
    from public.favorites f
    where f.user_id = (select auth.uid())
    order by f.created_at desc, f.machine_id;
end
$$;
comment on function public.machinemate_read_favorites(text) is
  'machinemate-api: the caller''s favorites, scoped to the caller in the same statement';
revoke all on function public.machinemate_read_favorites(text) from public, anon, authenticated;

-- A page of the caller's history, newest taken_at first, each row with the number of
-- entries in all (of one machine when machine_filter is given). One query per case, so
-- each keeps a plan made for it (the filtered one uses (user_id, machine_id, taken_at)).
create or replace function public.machinemate_read_history(
  claims text, machine_filter text, page_limit bigint, page_offset bigint
)
returns table (
  id uuid, machine_id text, confidence real, source text, taken_at timestamptz,
  created_at timestamptz, photo_uri text, total bigint
)
language plpgsql
volatile
as $$
declare
  entered boolean := public.machinemate_enter(claims);
begin
  if machine_filter is null then
    return query
      select h.id, h.machine_id, h.confidence, h.source, h.taken_at, h.created_at,
             h.photo_uri, count(*) over ()
      from public.history h
      where h.user_id = (select auth.uid())
      order by h.taken_at desc, h.id
      limit page_limit offset page_offset;
  else
    return query
      select h.id, h.machine_id, h.confidence, h.source, h.taken_at, h.created_at,
             h.photo_uri, count(*) over ()
      from public.history h
      where h.user_id = (select auth.uid()) and h.machine_id = machine_filter
      order by h.taken_at desc, h.id
      limit page_limit offset page_offset;
  end if;
end
$$;
comment on function public.machinemate_read_history(text, text, bigint, bigint) is
  'machinemate-api: a page of the caller''s history, scoped to the caller in the same statement';
revoke all on function public.machinemate_read_history(text, text, bigint, bigint)
  from public, anon, authenticated;

-- The caller's changes after sync version `since`, oldest first, at most page_limit of
-- them, after one first row of kind 'purged_through' whose version is the highest
-- change version housekeeping purged tombstones through (0 when none).
create or replace function public.machinemate_read_changes(
  claims text, since bigint, page_limit bigint
)
returns table (
  kind text, version bigint, deleted boolean, entity_id text, machine_id text,
  notes text, confidence real, source text, photo_uri text, taken_at timestamptz,
  created_at timestamptz, updated_at timestamptz
)
language plpgsql
volatile
as $$
declare
  entered boolean := public.machinemate_enter(claims);
begin
  return query
    select 'purged_through'::text, coalesce((
             select s.purged_through from public.sync_floors s
             where s.user_id = (select auth.uid())), 0::bigint),
           false, ''::text, null::text, null::text, null::real, null::text, null::text,
           null::timestamptz, null::timestamptz, null::timestamptz;
  return query
    select * from (
      select 'favorite'::text as kind, f.sync_version as version, false as deleted,
             f.machine_id as entity_id, f.machine_id, f.notes, null::real as confidence,
             null::text as source, null::text as photo_uri, null::timestamptz as taken_at,
             f.created_at, f.updated_at
        from public.favorites f
       where f.user_id = (select auth.uid()) and f.sync_version > since
      union all
      select 'history', h.sync_version, false, h.id::text, h.machine_id, null, h.confidence,
             h.source, h.photo_uri, h.taken_at, h.created_at, h.updated_at
        from public.history h
       where h.user_id = (select auth.uid()) and h.sync_version > since
      union all
      select t.entity, t.sync_version, true, t.entity_id, null, null, null, null, null, null,
             null, t.deleted_at
        from public.sync_tombstones t
       where t.user_id = (select auth.uid()) and t.sync_version > since
    ) changes
    order by changes.version
    limit page_limit;
end
$$;
comment on function public.machinemate_read_changes(text, bigint, bigint) is
  'machinemate-api: the caller''s sync changes and purge floor, scoped to the caller in the same statement';
revoke all on function public.machinemate_read_changes(text, bigint, bigint)
  from public, anon, authenticated;
