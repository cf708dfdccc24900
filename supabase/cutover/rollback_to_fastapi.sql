-- Roll a cutover back to the FastAPI backend (docs/cutover.md, "Rolling back").
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f supabase/cutover/rollback_to_fastapi.sql
--
-- One transaction. It puts the FastAPI backend's tables, view, functions, sign-up trigger
-- and storage policies back in place from `fastapi_legacy`, after writing into them what
-- users did through machinemate-api since the cutover, where the old schema can hold it:
--   - favorites and history: added, edited (favorite notes) and deleted since;
--   - profiles: edits, and new sign-ups that have an email (the old schema requires one);
--   - accounts deleted through machinemate-api: their old rows are deleted too;
--   - user photos uploaded or deleted since.
-- Not carried back (docs/cutover.md lists why): identifications and corrections made since,
-- favorites and history of machines the old catalog lacks, sign-ups without an email,
-- catalog edits, and pending uploads.
-- This service's tables (with every row) and its migration record move to a schema
-- `machinemate_rolled_back_<timestamp>`, so nothing is lost and a later `migrate` cuts over
-- afresh from the FastAPI backend's data.

begin;

do $$
declare
  rb text := 'machinemate_rolled_back_' || to_char(clock_timestamp(), 'YYYYMMDD"T"HH24MISS');
  r record;
begin
  if to_regnamespace('fastapi_legacy') is null then
    raise exception 'no fastapi_legacy schema: this database was not cut over by machinemate-api migrate';
  end if;

  -- 1. What users did since the cutover, into the old tables. ------------------------------
  update fastapi_legacy.users l
     set email = coalesce(u.email, l.email), display_name = u.display_name,
         avatar_url = u.avatar_url, preferences = u.preferences
    from public.users u
   where u.id = l.id
     and (l.email, l.display_name, l.avatar_url, l.preferences)
         is distinct from (coalesce(u.email, l.email), u.display_name, u.avatar_url, u.preferences);
  insert into fastapi_legacy.users (id, email, display_name, avatar_url, preferences, created_at, updated_at)
  select u.id, u.email, u.display_name, u.avatar_url, u.preferences, u.created_at, u.updated_at
    from public.users u
   where u.email is not null
     and not exists (select 1 from fastapi_legacy.users l where l.id = u.id)
  on conflict do nothing;
  -- An old profile without a profile here now: the account was deleted through this service.
  delete from fastapi_legacy.users l where not exists (select 1 from public.users u where u.id = l.id);

  delete from fastapi_legacy.favorites l
   where not exists (select 1 from public.favorites f
                      where f.user_id = l.user_id and f.machine_id = l.machine_id);
  insert into fastapi_legacy.favorites (user_id, machine_id, created_at, notes)
  select f.user_id, f.machine_id, f.created_at, f.notes
    from public.favorites f
   where exists (select 1 from fastapi_legacy.users l where l.id = f.user_id)
     and exists (select 1 from fastapi_legacy.machines m where m.id = f.machine_id)
  on conflict (user_id, machine_id) do update set notes = excluded.notes;

  delete from fastapi_legacy.history l where not exists (select 1 from public.history h where h.id = l.id);
  insert into fastapi_legacy.history (id, user_id, machine_id, confidence, source, taken_at, created_at, photo_uri)
  select h.id, h.user_id, h.machine_id, round(h.confidence::numeric, 2), h.source, h.taken_at,
         h.created_at, h.photo_uri
    from public.history h
   where exists (select 1 from fastapi_legacy.users l where l.id = h.user_id)
     and exists (select 1 from fastapi_legacy.machines m where m.id = h.machine_id)
  on conflict (id) do nothing;

  -- Photos are matched by bucket and key (the cutover gave a user's photo its file's uuid).
  if to_regclass('fastapi_legacy.media_assets') is not null then
    delete from fastapi_legacy.media_assets l
     where l.user_id is not null
       and not exists (select 1 from public.media_assets a
                        where a.bucket = l.bucket_name and l.storage_path in (a.path, a.bucket || '/' || a.path));
    insert into fastapi_legacy.media_assets (id, asset_type, content_type, file_size, bucket_name,
      storage_path, user_id, created_at, updated_at)
    select a.id, 'image', a.content_type, a.size_bytes, a.bucket, a.path, a.owner_id,
           a.created_at, a.updated_at
      from public.media_assets a
     where a.owner_id is not null and a.status = 'ready'
       and exists (select 1 from fastapi_legacy.users l where l.id = a.owner_id)
       and not exists (select 1 from fastapi_legacy.media_assets l
                        where l.bucket_name = a.bucket and l.storage_path in (a.path, a.bucket || '/' || a.path))
    on conflict (id) do nothing;
  end if;

  -- 2. This service's objects leave `public`, kept with every row. -------------------------
  execute format('create schema %I', rb);
  execute format('comment on schema %I is %L', rb,
    'machinemate-api''s tables and migration record, set aside by a rollback to the FastAPI backend');
  execute format($q$create table %I.service_storage_policies as
    select policyname::text, tablename::text, permissive, roles::text[], cmd, qual, with_check
      from pg_policies where schemaname = 'storage'
       and coalesce(qual, '') || coalesce(with_check, '') ~ '(machines|tutorials|user-uploads)'$q$, rb);
  for r in execute format('select policyname, tablename from %I.service_storage_policies', rb) loop
    execute format('drop policy %I on storage.%I', r.policyname, r.tablename);
  end loop;
  for r in
    select t.tgname, t.tgrelid::regclass as relation from pg_trigger t
    join pg_proc p on p.oid = t.tgfoid join pg_class c on c.oid = t.tgrelid
    where p.pronamespace = 'public'::regnamespace and c.relnamespace <> 'public'::regnamespace
      and not t.tgisinternal
  loop
    execute format('drop trigger %I on %s', r.tgname, r.relation);
  end loop;
  for r in
    select c.relname, c.relkind from pg_class c
    where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm', 'r', 'p')
      and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')
    order by c.relkind desc  -- views before tables
  loop
    execute format('alter %s public.%I set schema %I',
      case r.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
      r.relname, rb);
  end loop;
  for r in
    select p.oid::regprocedure as signature from pg_proc p
    where p.pronamespace = 'public'::regnamespace
      and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
  loop
    execute format('alter routine %s set schema %I', r.signature, rb);
  end loop;
  if to_regclass('supabase_migrations.sqlx_migrations') is not null then
    execute format('alter table supabase_migrations.sqlx_migrations set schema %I', rb);
  end if;

  -- 3. The FastAPI backend's objects come back. ---------------------------------------------
  for r in select name from (values ('cutover'), ('storage_policies'), ('dropped_triggers')) v (name)
           where to_regclass('fastapi_legacy.' || name) is not null loop
    execute format('alter table fastapi_legacy.%I set schema %I', r.name, rb);
    execute format('alter table %I.%I rename to %I', rb, r.name, 'fastapi_' || r.name);
  end loop;
  for r in
    select c.relname, c.relkind from pg_class c
    where c.relnamespace = 'fastapi_legacy'::regnamespace and c.relkind in ('v', 'm', 'r', 'p')
    order by c.relkind desc
  loop
    execute format('alter %s fastapi_legacy.%I set schema public',
      case r.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
      r.relname);
  end loop;
  for r in select p.oid::regprocedure as signature from pg_proc p
           where p.pronamespace = 'fastapi_legacy'::regnamespace loop
    execute format('alter routine %s set schema public', r.signature);
  end loop;
  for r in execute format('select definition from %I.fastapi_dropped_triggers', rb) loop
    execute r.definition;
  end loop;
  for r in execute format('select * from %I.fastapi_storage_policies', rb) loop
    execute format('create policy %I on storage.%I as %s for %s to %s%s%s',
      r.policyname, r.tablename, r.permissive, r.cmd,
      (select string_agg(case when x = 'public' then 'public' else quote_ident(x) end, ', ')
         from unnest(r.roles) x),
      case when r.qual is not null then ' using (' || r.qual || ')' else '' end,
      case when r.with_check is not null then ' with check (' || r.with_check || ')' else '' end);
  end loop;
  drop schema fastapi_legacy;

  execute format('revoke all on schema %I from public, anon, authenticated, service_role', rb);
  execute format('revoke all on all tables in schema %I from public, anon, authenticated, service_role', rb);
  raise notice 'rolled back to the FastAPI backend; machinemate-api''s data is in schema %', rb;
end
$$;

commit;
