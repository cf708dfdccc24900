-- Cutover from the FastAPI backend's database, step 1 of 3 (docs/cutover.md).
--
-- `machinemate-api migrate` runs this only after it has recognised the FastAPI backend's
-- tables in `public` (src/db/migrate/cutover.rs), in ONE transaction with every migration
-- and steps 2 and 3 (copy_fastapi.sql, copy_fastapi_media.sql): either the whole cutover
-- commits, or the database stays exactly as the FastAPI backend left it.
--
-- Nothing is dropped that holds data. The old tables (with their rows, columns, indexes,
-- policies and triggers), the old view and the old functions move, unchanged, into the
-- schema `fastapi_legacy`, which the Data API does not expose and no API role may read:
-- the migrations then create this service's tables in `public`, step 2 copies the rows
-- over, and the archive is what a rollback restores (rollback_to_fastapi.sql).
-- What would keep working around the new schema goes: the sign-up trigger on
-- auth.users that called the old function, and the old storage policies on the three
-- buckets (one let any signed-in user read every upload); their definitions are kept in
-- `fastapi_legacy.storage_policies` for a rollback.

create schema fastapi_legacy;
comment on schema fastapi_legacy is
  'The FastAPI backend''s tables, view and functions as they were at the cutover to machinemate-api (docs/cutover.md). Read by nothing; kept for a rollback. Drop it once the cutover is final.';

create table fastapi_legacy.cutover (
  cutover_at timestamptz not null default now(),
  note text not null
);
insert into fastapi_legacy.cutover (note)
values ('public.* of the FastAPI backend moved here by machinemate-api migrate');

-- Triggers elsewhere (auth.users' on_auth_user_created) that call one of the old
-- functions, recorded with fully qualified names for a rollback, then dropped below.
do $$
declare
  previous text := current_setting('search_path');
begin
  perform set_config('search_path', '', true);
  create table fastapi_legacy.dropped_triggers as
  select t.tgname::text as name, t.tgrelid::regclass::text as relation,
         pg_get_triggerdef(t.oid) as definition
  from pg_trigger t
  join pg_proc p on p.oid = t.tgfoid
  join pg_class c on c.oid = t.tgrelid
  where p.pronamespace = 'public'::regnamespace
    and c.relnamespace <> 'public'::regnamespace
    and not t.tgisinternal;
  perform set_config('search_path', previous, true);
end
$$;

do $$
declare
  r record;
begin
  -- Views first (they follow their tables by reference either way).
  for r in
    select c.relname, c.relkind from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
      and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
  loop
    execute format('alter %s public.%I set schema fastapi_legacy',
      case r.relkind when 'm' then 'materialized view' else 'view' end, r.relname);
  end loop;

  -- Every table of the old backend's (extension tables stay).
  for r in
    select c.relname from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
      and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
  loop
    execute format('alter table public.%I set schema fastapi_legacy', r.relname);
  end loop;

  -- Its functions (handle_updated_at, handle_new_user, cleanup_old_history, ...), but not
  -- those that belong to an extension.
  for r in
    select p.oid::regprocedure as signature from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('alter routine %s set schema fastapi_legacy', r.signature);
  end loop;

  for r in select name, relation from fastapi_legacy.dropped_triggers loop
    execute format('drop trigger %I on %s', r.name, r.relation);
  end loop;
end
$$;

-- The old storage policies on the three buckets: recorded, then dropped (the migrations
-- create this service's own).
create table fastapi_legacy.storage_policies as
select policyname::text, tablename::text, permissive, roles::text[], cmd, qual, with_check
from pg_policies
where schemaname = 'storage'
  and coalesce(qual, '') || coalesce(with_check, '') ~ '(machines|tutorials|user-uploads)';

do $$
declare
  r record;
begin
  for r in select policyname, tablename from fastapi_legacy.storage_policies loop
    execute format('drop policy %I on storage.%I', r.policyname, r.tablename);
  end loop;
end
$$;

-- What the API roles (and PUBLIC) may do with each moved object, as the FastAPI
-- project's migrations and Supabase's default privileges left it (the app called
-- record_identification_* and read the analytics views as anon and authenticated): the
-- rollback grants it again. With the default privileges of `public` for the user that
-- migrates, which this service's migrations narrow, and the three buckets' settings,
-- which they set.
create table fastapi_legacy.grants as
select 'table' as kind, c.relname::text as name, null::text as arguments, a.privilege_type,
       case when a.grantee = 0 then 'public' else a.grantee::regrole::text end as grantee,
       a.is_grantable
from pg_class c
cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
where c.relnamespace = 'fastapi_legacy'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S')
  and c.relname not in ('cutover', 'dropped_triggers')
  and (a.grantee = 0 or a.grantee::regrole::text in ('anon', 'authenticated', 'service_role'))
union all
select 'function', p.proname::text, pg_get_function_identity_arguments(p.oid), a.privilege_type,
       case when a.grantee = 0 then 'public' else a.grantee::regrole::text end,
       a.is_grantable
from pg_proc p
cross join lateral aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
where p.pronamespace = 'fastapi_legacy'::regnamespace
  and (a.grantee = 0 or a.grantee::regrole::text in ('anon', 'authenticated', 'service_role'));

create table fastapi_legacy.default_grants as
select d.defaclobjtype::text as object_type, a.privilege_type,
       case when a.grantee = 0 then 'public' else a.grantee::regrole::text end as grantee,
       a.is_grantable
from pg_default_acl d
cross join lateral aclexplode(d.defaclacl) a
where d.defaclnamespace = 'public'::regnamespace and d.defaclrole = current_user::regrole
  and (a.grantee = 0 or a.grantee::regrole::text in ('anon', 'authenticated', 'service_role'));

create table fastapi_legacy.storage_buckets as
select id, public, file_size_limit, allowed_mime_types from storage.buckets;

-- The archive is nobody's to read or call but the database owner's.
revoke all on schema fastapi_legacy from public, anon, authenticated, service_role;
revoke all on all tables in schema fastapi_legacy from public, anon, authenticated, service_role;
revoke all on all sequences in schema fastapi_legacy from public, anon, authenticated, service_role;
revoke all on all routines in schema fastapi_legacy from public, anon, authenticated, service_role;
