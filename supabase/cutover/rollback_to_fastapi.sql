-- Roll a cutover back to the FastAPI backend (docs/cutover.md, "Rolling back").
--
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f supabase/cutover/rollback_to_fastapi.sql
--
-- One transaction. It puts the FastAPI backend's tables, views, functions, grants, sign-up
-- trigger, storage policies and bucket settings back in place from `fastapi_legacy`, after
-- writing into them what users did through machinemate-api since the cutover (profiles,
-- favorites, history, photos, identifications and corrections), and nothing
-- else: a value nobody changed since stays exactly as the archive kept it (the archive
-- holds the old rows untouched), a value somebody changed comes back changed, at the
-- precision the old column allows, and rows added since come back where the old tables
-- can hold them (docs/cutover.md lists what they cannot). Rows the cutover kept in the
-- archive only (`fastapi_legacy.kept_back`) come back as they were.
-- This service's tables (with every row) and its migration record move to a schema
-- `machinemate_rolled_back_<timestamp>`, so nothing is lost and a later `migrate` cuts over
-- afresh from the FastAPI backend's data.

begin;

-- How the cutover read a confidence (copy_fastapi.sql): only a value that differs from it
-- was changed since.
create function pg_temp.served_confidence(value numeric) returns real
language sql immutable as $$
  select case when value between 0 and 1 then value::real
              when value > 1 and value <= 100 then (value / 100)::real end
$$;

do $$
declare
  rb text := 'machinemate_rolled_back_' || to_char(clock_timestamp(), 'YYYYMMDD"T"HH24MISS');
  cut_at timestamptz;
  r record;
  paused text[];
  -- Whether an old table has the foreign key (the fresh-install shape) or not (the live one).
  keyed_to constant text := 'select exists (select 1 from pg_constraint where contype = ''f'' '
                            'and conrelid = $1::regclass and confrelid = $2::regclass)';
  favorites_users boolean; favorites_machines boolean; history_users boolean; history_machines boolean;
begin
  if to_regnamespace('fastapi_legacy') is null then
    raise exception 'no fastapi_legacy schema: this database was not cut over by machinemate-api migrate';
  end if;
  if to_regclass('fastapi_legacy.kept_back') is null then
    raise exception 'fastapi_legacy was made by an earlier release of the cutover: roll back with that release''s rollback_to_fastapi.sql';
  end if;
  select cutover_at into cut_at from fastapi_legacy.cutover limit 1;
  execute keyed_to into favorites_users using 'fastapi_legacy.favorites', 'fastapi_legacy.users';
  execute keyed_to into favorites_machines using 'fastapi_legacy.favorites', 'fastapi_legacy.machines';
  execute keyed_to into history_users using 'fastapi_legacy.history', 'fastapi_legacy.users';
  execute keyed_to into history_machines using 'fastapi_legacy.history', 'fastapi_legacy.machines';

  -- 1. What users did since the cutover, into the old tables. ------------------------------
  -- Profiles: only those edited since, with the moment of the edit (the old trigger would
  -- stamp the rollback's).
  select array_agg(tgname::text) into paused from pg_trigger
   where tgrelid = 'fastapi_legacy.users'::regclass and not tgisinternal and tgenabled <> 'D';
  for r in select unnest(paused) as name loop
    execute format('alter table fastapi_legacy.users disable trigger %I', r.name);
  end loop;
  update fastapi_legacy.users l
     set email = coalesce(u.email, l.email), display_name = u.display_name, avatar_url = u.avatar_url,
         preferences = case when u.preferences is distinct from
                              (case when jsonb_typeof(l.preferences::jsonb) = 'object' then l.preferences::jsonb else '{}'::jsonb end)
                            then u.preferences else l.preferences end,
         updated_at = u.updated_at
    from public.users u
   where u.id = l.id
     and ((coalesce(u.email, l.email), u.display_name, u.avatar_url) is distinct from (l.email, l.display_name, l.avatar_url)
          or u.preferences is distinct from
             (case when jsonb_typeof(l.preferences::jsonb) = 'object' then l.preferences::jsonb else '{}'::jsonb end));
  for r in select unnest(paused) as name loop
    execute format('alter table fastapi_legacy.users enable trigger %I', r.name);
  end loop;
  -- Sign-ups since that have an email (the old schema requires one). The profiles the
  -- cutover itself made (for Auth users the old backend had none for), if nobody changed
  -- them, were not there before and do not come back.
  insert into fastapi_legacy.users (id, email, display_name, avatar_url, preferences, created_at, updated_at)
  select u.id, u.email, u.display_name, u.avatar_url, u.preferences, u.created_at, u.updated_at
    from public.users u
   where u.email is not null
     and not exists (select 1 from fastapi_legacy.users l where l.id = u.id)
     and (u.created_at is distinct from cut_at
          or (u.display_name, u.avatar_url, u.preferences) is distinct from (null, null, '{}'::jsonb))
  on conflict do nothing;
  -- A carried profile without a profile here now: the account was deleted since.
  delete from fastapi_legacy.users l
   where not exists (select 1 from public.users u where u.id = l.id)
     and not exists (select 1 from fastapi_legacy.kept_back k where k.table_name = 'users' and k.key = l.id::text);

  -- Favorites: removed, edited (notes), removed and added again (created_at), added.
  delete from fastapi_legacy.favorites l
   where not exists (select 1 from public.favorites f where f.user_id = l.user_id and f.machine_id = l.machine_id)
     and not exists (select 1 from fastapi_legacy.kept_back k
                      where k.table_name = 'favorites' and k.key = l.user_id::text || '/' || l.machine_id);
  update fastapi_legacy.favorites l
     set notes = f.notes, created_at = f.created_at
    from public.favorites f
   where f.user_id = l.user_id and f.machine_id = l.machine_id
     and (f.notes, f.created_at) is distinct from (l.notes, coalesce(l.created_at, cut_at));
  insert into fastapi_legacy.favorites (user_id, machine_id, created_at, notes)
  select f.user_id, f.machine_id, f.created_at, f.notes
    from public.favorites f
   where not exists (select 1 from fastapi_legacy.favorites l where l.user_id = f.user_id and l.machine_id = f.machine_id)
     and (not favorites_users or exists (select 1 from fastapi_legacy.users l where l.id = f.user_id))
     and (not favorites_machines or exists (select 1 from fastapi_legacy.machines m where m.id = f.machine_id))
  on conflict do nothing;

  -- History: removed, changed (a machine renamed), added; confidences as written (0.934
  -- stays 0.934 where the old column is unbounded).
  delete from fastapi_legacy.history l
   where not exists (select 1 from public.history h where h.id = l.id)
     and not exists (select 1 from fastapi_legacy.kept_back k where k.table_name = 'history' and k.key = l.id::text);
  update fastapi_legacy.history l
     set machine_id = h.machine_id, source = h.source, photo_uri = h.photo_uri, taken_at = h.taken_at,
         created_at = h.created_at,
         confidence = case when h.confidence is distinct from pg_temp.served_confidence(l.confidence::numeric)
                           then h.confidence::text::numeric else l.confidence end
    from public.history h
   where h.id = l.id
     and ((h.machine_id, h.source, h.photo_uri, h.taken_at, h.created_at)
            is distinct from (l.machine_id, coalesce(l.source, 'unknown'), l.photo_uri, l.taken_at,
                              coalesce(l.created_at, l.taken_at))
          or h.confidence is distinct from pg_temp.served_confidence(l.confidence::numeric));
  insert into fastapi_legacy.history (id, user_id, machine_id, confidence, source, taken_at, created_at, photo_uri)
  select h.id, h.user_id, h.machine_id, h.confidence::text::numeric, h.source, h.taken_at, h.created_at, h.photo_uri
    from public.history h
   where not exists (select 1 from fastapi_legacy.history l where l.id = h.id)
     and (not history_users or exists (select 1 from fastapi_legacy.users l where l.id = h.user_id))
     and (not history_machines or exists (select 1 from fastapi_legacy.machines m where m.id = h.machine_id))
  on conflict do nothing;

  -- User photos, matched by bucket and key (the cutover gave some photos their file's uuid).
  if to_regclass('fastapi_legacy.media_assets') is not null then
    delete from fastapi_legacy.media_assets l
     where l.user_id is not null
       and not exists (select 1 from public.media_assets a
                        where a.bucket = l.bucket_name and l.storage_path in (a.path, a.bucket || '/' || a.path))
       and not exists (select 1 from fastapi_legacy.kept_back k
                        where k.table_name = 'media_assets' and k.key = l.id::text);
    insert into fastapi_legacy.media_assets (id, asset_type, content_type, file_size, bucket_name,
      storage_path, user_id, created_at, updated_at)
    select a.id, 'image', a.content_type, a.size_bytes, a.bucket, a.path, a.owner_id,
           a.created_at, a.updated_at
      from public.media_assets a
     where a.owner_id is not null and a.status = 'ready'
       and exists (select 1 from fastapi_legacy.users l where l.id = a.owner_id)
       and not exists (select 1 from fastapi_legacy.media_assets l
                        where l.bucket_name = a.bucket and l.storage_path in (a.path, a.bucket || '/' || a.path))
    on conflict do nothing;
  end if;

  -- Identifications made since, and corrections made or changed since, where the old
  -- tables can hold them: an event needs a prompt variant and, with a user, that user's
  -- old profile; a correction needs its event there. Its selection is the machine's id
  -- (or the note), its source the old name for the picker.
  if to_regclass('fastapi_legacy.identification_events') is not null then
    insert into fastapi_legacy.identification_events (id, trace_id, user_id, machine_predicted, confidence,
      prompt_variant, raw_machine, match_score, unmapped, model, image_size_bytes, processing_time_ms, created_at)
    select e.id, e.trace_id, e.user_id, e.machine_name, e.confidence::text::numeric, e.prompt_variant,
           e.raw_machine, e.match_score::text::numeric, e.unmapped, e.model, e.image_bytes, e.latency_ms,
           e.created_at
      from public.identification_events e
     where e.created_at > cut_at and e.prompt_variant is not null
       and (e.user_id is null or exists (select 1 from fastapi_legacy.users l where l.id = e.user_id))
       and not exists (select 1 from fastapi_legacy.identification_events l where l.trace_id = e.trace_id)
    on conflict do nothing;
  end if;
  if to_regclass('fastapi_legacy.identification_corrections') is not null then
    update fastapi_legacy.identification_corrections l
       set machine_selected = coalesce(c.machine_id, c.note, l.machine_selected),
           correction_source = case c.source when 'picker' then 'manual_picker' else c.source end,
           time_to_correction_ms = c.time_to_correction_ms, created_at = c.created_at
      from public.identification_corrections c
     where c.id = l.id and c.created_at is distinct from coalesce(l.created_at, cut_at);
    insert into fastapi_legacy.identification_corrections (id, event_id, user_id, machine_selected,
      correction_source, time_to_correction_ms, created_at)
    select c.id, e.id, c.user_id, coalesce(c.machine_id, c.note, ''),
           case c.source when 'picker' then 'manual_picker' else c.source end,
           c.time_to_correction_ms, c.created_at
      from public.identification_corrections c
      join fastapi_legacy.identification_events e on e.trace_id = c.trace_id
     where not exists (select 1 from fastapi_legacy.identification_corrections l where l.id = c.id)
       and exists (select 1 from fastapi_legacy.users l where l.id = c.user_id)
    on conflict do nothing;
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
  for r in select name from (values ('cutover'), ('storage_policies'), ('dropped_triggers'), ('kept_back'),
                                    ('grants'), ('default_grants'), ('storage_buckets')) v (name)
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
  -- Grants as the FastAPI project's migrations left them (the cutover revoked them).
  for r in execute format('select * from %I.fastapi_grants', rb) loop
    execute format('grant %s on %s public.%I%s to %s%s', r.privilege_type,
      case r.kind when 'function' then 'function' else 'table' end, r.name,
      case r.kind when 'function' then '(' || r.arguments || ')' else '' end,
      case r.grantee when 'public' then 'public' else quote_ident(r.grantee) end,
      case when r.is_grantable then ' with grant option' else '' end);
  end loop;
  for r in select unnest(array['tables', 'sequences', 'functions']) as kind loop
    execute format('alter default privileges in schema public revoke all on %s from anon, authenticated, service_role', r.kind);
  end loop;
  for r in execute format('select * from %I.fastapi_default_grants', rb) loop
    execute format('alter default privileges in schema public grant %s on %s to %s%s', r.privilege_type,
      case r.object_type when 'r' then 'tables' when 'S' then 'sequences' when 'f' then 'functions'
                         when 'T' then 'types' else 'schemas' end,
      case r.grantee when 'public' then 'public' else quote_ident(r.grantee) end,
      case when r.is_grantable then ' with grant option' else '' end);
  end loop;
  execute format('update storage.buckets b set public = s.public, file_size_limit = s.file_size_limit,
                    allowed_mime_types = s.allowed_mime_types
                    from %I.fastapi_storage_buckets s
                   where s.id = b.id and (b.public, b.file_size_limit, b.allowed_mime_types)
                         is distinct from (s.public, s.file_size_limit, s.allowed_mime_types)', rb);
  drop schema fastapi_legacy;

  execute format('revoke all on schema %I from public, anon, authenticated, service_role', rb);
  execute format('revoke all on all tables in schema %I from public, anon, authenticated, service_role', rb);
  execute format('revoke all on all routines in schema %I from public, anon, authenticated, service_role', rb);
  raise notice 'rolled back to the FastAPI backend; machinemate-api''s data is in schema %', rb;
end
$$;

commit;
