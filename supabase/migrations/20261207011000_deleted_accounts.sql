-- Deleted accounts stay deleted.
--
-- A Supabase access token cannot be recalled: after `DELETE /api/v1/users/me` (or the
-- user's deletion in Supabase, which cascades here) the token keeps its signature until
-- it expires. Before, such a token got 500s on writes (foreign keys to a user who is no
-- more) and, where the sign-in itself survived (a local stack), its next call recreated
-- the profile. Now every deletion of a profile leaves a record of when, and:
--
-- * machinemate_scope, which opens every per-request transaction, refuses a token
--   issued at or before the deletion (SQLSTATE MM401, answered 401 "Account deleted"),
--   on every instance, whatever the instance's caches say;
-- * the service never recreates the profile of a deleted account (src/db/users.rs); a
--   real new sign-up with the same id (possible only on a local stack) makes a new
--   profile through the sign-up trigger, and its tokens, issued after the deletion, work.
--
-- Records are kept for `machinemate-api maintain`'s retention of deleted accounts (a
-- token lives at most a week in Supabase's settings), then purged.

create table public.deleted_accounts (
  user_id uuid primary key,
  deleted_at timestamptz not null default now()
);
comment on table public.deleted_accounts is
  'Profiles deleted, and when: tokens issued before are refused (the service only).';
alter table public.deleted_accounts enable row level security;
revoke all on public.deleted_accounts from anon, authenticated;
create index deleted_accounts_deleted_idx on public.deleted_accounts (deleted_at);

-- At commit, not at the delete: a profile deleted and written again in one transaction
-- (the cutover replaces the profiles the first migration made) is not a deletion.
create or replace function public.remember_deleted_account() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if not exists (select 1 from public.users where id = old.id) then
    insert into public.deleted_accounts (user_id) values (old.id)
    on conflict (user_id) do update set deleted_at = excluded.deleted_at;
  end if;
  return null;
end
$$;
revoke execute on function public.remember_deleted_account() from public, anon, authenticated;

create constraint trigger users_remember_deletion after delete on public.users
  deferrable initially deferred
  for each row execute function public.remember_deleted_account();

-- As in 20261206000000, plus the check: a token issued at or before its account's
-- deletion opens no transaction. `iat` is in seconds; a token without one counts as old.
create or replace function public.machinemate_scope(claims text, statement_timeout_ms bigint)
returns void
language plpgsql
volatile
as $$
declare
  parsed jsonb := claims::jsonb;
begin
  if exists (
    select 1 from public.deleted_accounts d
    where d.user_id = (parsed ->> 'sub')::uuid
      and d.deleted_at >= pg_catalog.to_timestamp(coalesce((parsed ->> 'iat')::double precision, 0))
  ) then
    raise exception using errcode = 'MM401', message = 'account deleted',
      detail = 'the token was issued before its account was deleted';
  end if;
  perform pg_catalog.set_config('role', 'machinemate_request', true),
          pg_catalog.set_config('request.jwt.claims', claims, true),
          pg_catalog.set_config('idle_in_transaction_session_timeout', '3000', true);
  if statement_timeout_ms is not null then
    perform pg_catalog.set_config('statement_timeout', statement_timeout_ms::text, true);
  end if;
end
$$;
