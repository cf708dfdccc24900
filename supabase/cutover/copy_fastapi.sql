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
-- auth.users; the old profiles replace those for the users who had one (sign-ups the old
-- trigger skipped keep theirs). A profile whose Auth user is gone cannot be an account here.
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'users', u.id::text, 'no Supabase Auth user'
from fastapi_legacy.users u
where not exists (select 1 from auth.users a where a.id = u.id);

delete from public.users where id in (select id from fastapi_legacy.users);
insert into public.users (id, email, display_name, avatar_url, preferences, created_at, updated_at)
select u.id, u.email, u.display_name, u.avatar_url,
       -- served as {} when it is not a JSON object
       case when jsonb_typeof(u.preferences::jsonb) = 'object' then u.preferences::jsonb else '{}'::jsonb end,
       coalesce(u.created_at, now()),
       coalesce(u.updated_at, u.created_at, now())
from fastapi_legacy.users u
where exists (select 1 from auth.users a where a.id = u.id);

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

-- favorites and history that cannot be placed: kept back, with why.
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'favorites', f.user_id::text || '/' || f.machine_id,
       case when not exists (select 1 from public.users u where u.id = f.user_id) then 'user without an account'
            else 'machine id no catalog may hold' end
from fastapi_legacy.favorites f
where not exists (select 1 from public.users u where u.id = f.user_id)
   or (f.machine_id !~ '^[a-z0-9][a-z0-9_]{1,62}$'
       and not exists (select 1 from public.machines m where m.id = f.machine_id));
insert into fastapi_legacy.kept_back (table_name, key, reason)
select 'history', h.id::text,
       case when not exists (select 1 from public.users u where u.id = h.user_id) then 'user without an account'
            else 'machine id no catalog may hold' end
from fastapi_legacy.history h
where not exists (select 1 from public.users u where u.id = h.user_id)
   or (h.machine_id !~ '^[a-z0-9][a-z0-9_]{1,62}$'
       and not exists (select 1 from public.machines m where m.id = h.machine_id));

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

-- favorites, with their change numbers: each user's, oldest first.
insert into public.favorites (user_id, machine_id, notes, created_at, updated_at, sync_version)
select f.user_id, f.machine_id, f.notes,
       coalesce(f.created_at, now()), coalesce(f.created_at, now()),
       row_number() over (partition by f.user_id order by f.created_at, f.machine_id)
from carried_favorites f;

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

-- Each user's counter, without touching their profile's `updated_at`.
alter table public.users disable trigger users_set_updated_at;
update public.users u
   set sync_version = c.changes
  from (select user_id, count(*) as changes
          from (select user_id from public.favorites union all select user_id from public.history) x
         group by user_id) c
 where c.user_id = u.id;
alter table public.users enable trigger users_set_updated_at;

alter table public.favorites enable trigger favorites_track_change;
alter table public.history enable trigger history_track_change;
alter table public.users enable trigger users_text_within_limits;
alter table public.favorites enable trigger favorites_text_within_limits;
alter table public.history enable trigger history_text_within_limits;
alter table public.favorites enable trigger favorites_within_limit;
alter table public.history enable trigger history_within_limit;
