-- Cutover from the FastAPI backend's database, step 2 of 3 (docs/cutover.md): the rows
-- of `fastapi_legacy` (moved there by adopt_fastapi.sql) copied into this service's
-- tables, which every migration has just created, in the same transaction. Step 3
-- (copy_fastapi_media.sql) copies media and identifications.
--
-- Values are kept as they were, to the character and the microsecond: ids, machine ids,
-- notes, names, sources, photo URIs, timestamps. Where the new schema reads a value
-- differently, the rule is stated beside the column and the archive keeps the original.
-- A row this service cannot place at all (its user has no account; its machine id is not
-- one a catalog may hold) stays in the archive only, recorded with why in
-- `fastapi_legacy.kept_back`, which verify.sql, `migrate --check` and the rollback read.

-- The old backend's rows beyond this service's per-user limits and text limits are kept:
-- the limits apply to what users write from now on (migrations 20261204010000,
-- 20261207000000). The sync triggers' numbers are given in bulk below.
alter table public.favorites disable trigger favorites_within_limit;
alter table public.history disable trigger history_within_limit;
alter table public.media_assets disable trigger media_assets_within_limit;
alter table public.users disable trigger users_text_within_limits;
alter table public.favorites disable trigger favorites_text_within_limits;
alter table public.history disable trigger history_text_within_limits;
alter table public.identification_corrections disable trigger identification_corrections_text_within_limits;
alter table public.favorites disable trigger favorites_track_change;
alter table public.history disable trigger history_track_change;

-- Memory for the copy's sorts and index builds (a million history entries), for this
-- transaction only.
set local work_mem = '64MB';
set local maintenance_work_mem = '256MB';

create table fastapi_legacy.kept_back (
  table_name text not null,
  key text not null,
  reason text not null,
  primary key (table_name, key)
);
comment on table fastapi_legacy.kept_back is
  'Rows of the FastAPI backend the cutover could not place, kept here only, and why (docs/cutover.md).';

-- The legacy text of a JSON array of strings, as text[] (anything else: empty).
create function pg_temp.text_array(value jsonb) returns text[]
language sql immutable as $$
  select coalesce(array(select jsonb_array_elements_text(
    case when jsonb_typeof(value) = 'array' then value else '[]'::jsonb end)), '{}')
$$;

-- A machine id for what the old backend stored (an id, or a machine's name).
create function pg_temp.machine_for(value text) returns text
language sql stable as $$
  select coalesce(
    (select m.id from public.machines m where m.id = value),
    (select m.id from public.machines m where lower(m.name) = lower(trim(value)) order by m.id limit 1))
$$;

-- A confidence as this service serves it (0..1): a value above 1 and at most 100 is a
-- percentage (early app builds); anything else out of range (negative, above 100, NaN) is
-- unknown. The archive keeps what was stored.
create function pg_temp.confidence(value numeric) returns real
language sql immutable as $$
  select case when value between 0 and 1 then value::real
              when value > 1 and value <= 100 then (value / 100)::real end
$$;

-- users: the first migration made a profile for every Supabase Auth user from
-- auth.users; the old profiles' values replace those (at the end, below, with each
-- user's change counter). A profile whose Auth user is gone cannot be an account here.
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'users', u.id::text, 'no Supabase Auth user'
from fastapi_legacy.users u
where not exists (select 1 from auth.users a where a.id = u.id);

-- machines: the catalog as the old backend served it (`machinemate-api seed` then brings
-- this service's guidance, synonyms and visual cues onto the same ids). Guidance was JSON;
-- difficulty is capitalised; an equipment type the new list lacks is guessed from the
-- category and the old value kept in metadata. Rows the new schema cannot hold stopped
-- the cutover before anything changed (unplaceable.sql).
insert into public.machines (id, name, category, difficulty, primary_muscles, secondary_muscles,
  equipment_type, setup_steps, how_to_steps, common_mistakes, safety_tips, beginner_tips,
  thumbnail_url, image_url, video_url, muscle_diagram_url, tags, metadata, is_active,
  created_at, updated_at)
select m.id, m.name, m.category, initcap(m.difficulty),
       coalesce(m.primary_muscles, '{}'), coalesce(m.secondary_muscles, '{}'),
       coalesce(known.equipment_type, case when m.category = 'Cardio' then 'cardio' else 'selectorized' end),
       pg_temp.text_array(m.setup_steps), pg_temp.text_array(m.how_to_steps),
       pg_temp.text_array(m.common_mistakes), pg_temp.text_array(m.safety_tips),
       pg_temp.text_array(m.beginner_tips),
       m.thumbnail_url, m.image_url, m.video_url, m.muscle_diagram_url,
       coalesce(m.tags, '{}'),
       coalesce(m.metadata, '{}'::jsonb)
         || case when known.equipment_type is null and m.equipment_type is not null
                 then jsonb_build_object('fastapi_equipment_type', m.equipment_type)
                 else '{}'::jsonb end,
       m.is_active,
       coalesce(m.created_at, now()), coalesce(m.updated_at, m.created_at, now())
from fastapi_legacy.machines m
left join lateral (
  select t as equipment_type
  from unnest(array['selectorized', 'plate_loaded', 'cable', 'cardio', 'smith', 'bodyweight', 'assisted']) t
  where t = lower(replace(trim(m.equipment_type), ' ', '_'))
) known on true;

-- favorites and history that cannot be placed: kept back, with why. These tables hold
-- most of the rows: anti-joins, and `+` with a length rather than `{1,62}` (ten times
-- slower in Postgres's regular expressions).
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'favorites', f.user_id::text || '/' || f.machine_id, 'user without an account'
from fastapi_legacy.favorites f
where not exists (select 1 from public.users u where u.id = f.user_id);
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'favorites', f.user_id::text || '/' || f.machine_id, 'machine id no catalog may hold'
from fastapi_legacy.favorites f
where (f.machine_id !~ '^[a-z0-9][a-z0-9_]+$' or char_length(f.machine_id) > 63)
  and not exists (select 1 from public.machines m where m.id = f.machine_id)
on conflict do nothing;
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'history', h.id::text, 'user without an account'
from fastapi_legacy.history h
where not exists (select 1 from public.users u where u.id = h.user_id);
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'history', h.id::text, 'machine id no catalog may hold'
from fastapi_legacy.history h
where (h.machine_id !~ '^[a-z0-9][a-z0-9_]+$' or char_length(h.machine_id) > 63)
  and not exists (select 1 from public.machines m where m.id = h.machine_id)
on conflict do nothing;

analyze fastapi_legacy.kept_back;

create temporary view carried_favorites as
select f.* from fastapi_legacy.favorites f
where not exists (select 1 from fastapi_legacy.kept_back k
                  where k.table_name = 'favorites' and k.key = f.user_id::text || '/' || f.machine_id);
create temporary view carried_history as
select h.* from fastapi_legacy.history h
where not exists (select 1 from fastapi_legacy.kept_back k
                  where k.table_name = 'history' and k.key = h.id::text);

-- A machine the catalog lacks (renamed or removed since) that favorites or history name:
-- a retired placeholder under the same id, readable by id and not listed, so the app
-- shows the entry, and a later `seed` that brings a machine of that id makes it that one.
insert into public.machines (id, name, category, difficulty, primary_muscles, equipment_type,
  setup_steps, how_to_steps, common_mistakes, safety_tips, beginner_tips, metadata, is_active)
select o.machine_id, initcap(replace(o.machine_id, '_', ' ')) || ' (retired)', 'Full Body', 'Beginner',
       '{}', 'selectorized', '{}', '{}', '{}', '{}', '{}',
       jsonb_build_object('fastapi_placeholder', true), false
from (select machine_id from carried_favorites union select machine_id from carried_history) o
where not exists (select 1 from public.machines m where m.id = o.machine_id);

-- Bulk load: the foreign keys and secondary indexes of favorites and history are set
-- aside and made again after the copy, from their own definitions (one check and one
-- sorted build each, instead of one per row: a third of the time at a million entries).
create temporary table set_aside on commit drop as
select 1 as pass, 'constraint' as kind, c.conrelid::regclass::text as relation, c.conname::text as name,
       pg_get_constraintdef(c.oid) as definition
from pg_constraint c
where c.conrelid in ('public.favorites'::regclass, 'public.history'::regclass) and c.contype = 'f'
union all
select 0, 'index', i.indrelid::regclass::text, x.relname::text, pg_get_indexdef(i.indexrelid)
from pg_index i join pg_class x on x.oid = i.indexrelid
where i.indrelid in ('public.favorites'::regclass, 'public.history'::regclass)
  and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid);
do $$
declare
  r record;
begin
  for r in select * from set_aside loop
    if r.kind = 'constraint' then
      execute format('alter table %s drop constraint %I', r.relation, r.name);
    else
      execute format('drop index public.%I', r.name);
    end if;
  end loop;
end
$$;

-- favorites, with their change numbers: each user's, oldest first.
insert into public.favorites (user_id, machine_id, notes, created_at, updated_at, sync_version)
select f.user_id, f.machine_id, f.notes,
       coalesce(f.created_at, now()), coalesce(f.created_at, now()),
       row_number() over (partition by f.user_id order by f.created_at, f.machine_id)
from carried_favorites f;

-- The planner must know the favorites just loaded (it would take them for an empty table).
analyze public.favorites;

-- history, numbered after the user's favorites.
insert into public.history (id, user_id, machine_id, confidence, source, photo_uri, taken_at,
  created_at, updated_at, sync_version)
select h.id, h.user_id, h.machine_id, pg_temp.confidence(h.confidence::numeric),
       coalesce(h.source, 'unknown'), h.photo_uri, h.taken_at,
       coalesce(h.created_at, h.taken_at), coalesce(h.created_at, h.taken_at),
       coalesce(f.favorites, 0)
         + row_number() over (partition by h.user_id order by h.created_at, h.id)
from carried_history h
left join (select user_id, count(*) as favorites from public.favorites group by user_id) f
  on f.user_id = h.user_id;

do $$
declare
  r record;
begin
  for r in select * from set_aside order by pass loop
    if r.kind = 'constraint' then
      execute format('alter table %s add constraint %I %s', r.relation, r.name, r.definition);
    else
      execute r.definition;
    end if;
  end loop;
end
$$;

-- Profiles: the old values, and each user's change counter, in one pass (each update of
-- a profile queues a check per table that refers to it), without making the cutover's
-- moment anybody's `updated_at`.
alter table public.users disable trigger users_set_updated_at;
update public.users u
   set email = coalesce(l.email, u.email),
       display_name = case when l.id is null then u.display_name else l.display_name end,
       avatar_url = case when l.id is null then u.avatar_url else l.avatar_url end,
       -- served as {} when it is not a JSON object
       preferences = case when l.id is null then u.preferences
                          when jsonb_typeof(l.preferences::jsonb) = 'object' then l.preferences::jsonb
                          else '{}'::jsonb end,
       created_at = coalesce(l.created_at, u.created_at),
       updated_at = coalesce(l.updated_at, l.created_at, u.updated_at),
       sync_version = coalesce(c.changes, u.sync_version)
  from public.users x
  left join fastapi_legacy.users l on l.id = x.id
  left join (select user_id, count(*) as changes
               from (select user_id from public.favorites union all select user_id from public.history) y
              group by user_id) c on c.user_id = x.id
 where x.id = u.id and (l.id is not null or c.changes is not null);
alter table public.users enable trigger users_set_updated_at;

alter table public.favorites enable trigger favorites_track_change;
alter table public.history enable trigger history_track_change;
alter table public.users enable trigger users_text_within_limits;
alter table public.favorites enable trigger favorites_text_within_limits;
alter table public.history enable trigger history_text_within_limits;
alter table public.favorites enable trigger favorites_within_limit;
alter table public.history enable trigger history_within_limit;
