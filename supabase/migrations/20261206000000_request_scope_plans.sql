-- Plans kept per connection for what every request runs.
--
-- Each user-scoped transaction opened with `SELECT set_config(...), set_config(...), ...`
-- and read its rows with a statement sent as text; Postgres parsed and planned both
-- anew on every request (the simple protocol keeps no plan), which was about half of
-- its work for a favorites list (docs/performance.md, "Favorites and the ceiling").
-- PL/pgSQL keeps the plan of each statement in a function for the life of the
-- connection, so the scope and the hottest read become functions: the request sends a
-- short call, and Postgres reuses the plans. Nothing about who may read what changes:
--
-- * machinemate_scope sets, local to the transaction, exactly what the text did: the
--   role machinemate_request, the caller's claims, the idle-in-transaction and the
--   statement timeouts. It is SECURITY INVOKER, so only a user that may already switch
--   to machinemate_request (the service's) can run it; anon and authenticated cannot
--   call it at all. No SET clause: one would undo the settings when the function returns.
-- * machinemate_favorites runs as the caller, machinemate_request, so the favorites
--   policy applies row by row as it did to the text query, and reads with the same
--   explicit `user_id = auth.uid()`. Postgres re-checks a kept plan that depends on row
--   security whenever the role differs from the one it was planned for.

create or replace function public.machinemate_scope(claims text, statement_timeout_ms bigint)
returns void
language plpgsql
volatile
as $$
begin
  perform pg_catalog.set_config('role', 'machinemate_request', true),
          pg_catalog.set_config('request.jwt.claims', claims, true),
          pg_catalog.set_config('idle_in_transaction_session_timeout', '3000', true);
  if statement_timeout_ms is not null then
    perform pg_catalog.set_config('statement_timeout', statement_timeout_ms::text, true);
  end if;
end
$$;
comment on function public.machinemate_scope(text, bigint) is
  'machinemate-api: scopes the current transaction to one user (role, claims, timeouts)';
revoke all on function public.machinemate_scope(text, bigint) from public, anon, authenticated;

create or replace function public.machinemate_favorites()
returns table (machine_id text, created_at timestamptz, notes text, updated_at timestamptz)
language plpgsql
stable
as $$
begin
  return query
    select f.machine_id, f.created_at, f.notes, f.updated_at
    from public.favorites f
    where f.user_id = (select auth.uid());
end
$$;
comment on function public.machinemate_favorites() is
  'machinemate-api: the caller''s favorites (run after machinemate_scope; row security applies)';
revoke all on function public.machinemate_favorites() from public, anon, authenticated;
grant execute on function public.machinemate_favorites() to machinemate_request;
