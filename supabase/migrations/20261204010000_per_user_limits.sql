-- Per-user bounds, so that one user cannot make every request of theirs (an export, a
-- sync) unboundedly heavy, nor hold the pool with them:
--   - rows a user may keep: favorites 500 (more than the catalog has machines), history
--     entries 10,000, media assets 1,000. One more is refused (SQLSTATE 23514 with the
--     constraint `<table>_per_user_limit`, answered 422 with the limit named);
--   - how often the heavy routes may be called (`rate_limits`, taken atomically by the
--     service like the identification quota, so the limit holds across instances).

create or replace function public.enforce_user_row_limit() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner uuid := (to_jsonb(new) ->> tg_argv[0])::uuid;
  limit_rows integer := tg_argv[1]::integer;
  kept integer;
begin
  if owner is null then
    return new; -- system media (catalog images, tutorials) belong to nobody
  end if;
  -- Concurrent inserts by one user queue on their row (the sync trigger that ran first
  -- has already locked it for favorites and history), so the count is exact.
  perform 1 from public.users where id = owner for update;
  execute format('select count(*) from (select 1 from public.%I where %I = $1 limit $2) kept',
                 tg_table_name, tg_argv[0])
    into kept using owner, limit_rows;
  if kept >= limit_rows then
    raise exception using
      errcode = 'check_violation',
      constraint = tg_table_name || '_per_user_limit',
      message = format('%s: at most %s per user; delete some first', tg_table_name, limit_rows);
  end if;
  return new;
end
$$;
revoke execute on function public.enforce_user_row_limit() from public, anon, authenticated;

-- Named to run after `*_track_change` (triggers fire in name order).
create trigger favorites_within_limit before insert on public.favorites
  for each row execute function public.enforce_user_row_limit('user_id', '500');
create trigger history_within_limit before insert on public.history
  for each row execute function public.enforce_user_row_limit('user_id', '10000');
create trigger media_assets_within_limit before insert on public.media_assets
  for each row execute function public.enforce_user_row_limit('owner_id', '1000');

-- Calls per user per fixed window, by route family (`bucket`).
create table public.rate_limits (
  user_id uuid not null references public.users (id) on delete cascade,
  bucket text not null check (char_length(bucket) between 1 and 50),
  window_start timestamptz not null,
  used integer not null check (used >= 0),
  primary key (user_id, bucket)
);
comment on table public.rate_limits is 'Calls of the heavy routes per user in the current window (the service only).';
alter table public.rate_limits enable row level security;
revoke all on public.rate_limits from anon, authenticated;
