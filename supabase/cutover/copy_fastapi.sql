-- Cutover from the FastAPI backend's database, step 2 of 2 (docs/cutover.md): the rows
-- of `fastapi_legacy` (moved there by adopt_fastapi.sql) copied into this service's
-- tables, which every migration has just created, in the same transaction.
--
-- Values are kept as they were: ids, machine ids, notes, timestamps, confidences,
-- sources, photo URIs, trace ids. Where the new schema is stricter, the rule is stated
-- beside the column; what it does not carry (users.metadata, favorites.metadata,
-- history.meta, media sizes and tags, events' auto_navigated, corrections made
-- anonymously) stays in the archive. src/db/cutover.rs reports the counts.

-- Rows the old backend kept beyond this service's per-user limits (migration
-- 20261204010000) are kept: the limits apply to what users add from now on.
alter table public.favorites disable trigger favorites_within_limit;
alter table public.history disable trigger history_within_limit;
alter table public.media_assets disable trigger media_assets_within_limit;

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

-- users: the first migration made a profile for every Supabase Auth user from
-- auth.users; the old profiles replace those for the users who had one (the phone and
-- anonymous sign-ups the old trigger skipped keep theirs, with no email).
delete from public.users where id in (select id from fastapi_legacy.users);
insert into public.users (id, email, display_name, avatar_url, preferences, created_at, updated_at)
select u.id, u.email,
       left(u.display_name, 100),  -- the new limit; the full text stays in the archive
       u.avatar_url,
       case when jsonb_typeof(u.preferences) = 'object' then u.preferences else '{}'::jsonb end,
       coalesce(u.created_at, now()),
       coalesce(u.updated_at, u.created_at, now())
from fastapi_legacy.users u;

-- machines: the catalog as the old backend served it (`machinemate-api seed` then brings
-- this service's guidance, synonyms and visual cues onto the same ids). Guidance was JSON;
-- difficulty is capitalised; an equipment type the new list lacks is guessed from the
-- category and the old value kept in metadata.
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

-- favorites and history. Their sync triggers would take each user's next change number
-- row by row (an update of the user's row per favorite and entry: most of the cutover's
-- time); the numbers are given in bulk instead, as the triggers would have: each user's
-- favorites (oldest first), then entries (oldest first), then the user's counter.
alter table public.favorites disable trigger favorites_track_change;
alter table public.history disable trigger history_track_change;

-- favorites (notes over the new 1000-character limit are cut there; the archive keeps them).
insert into public.favorites (user_id, machine_id, notes, created_at, updated_at, sync_version)
select f.user_id, f.machine_id, left(f.notes, 1000),
       coalesce(f.created_at, now()), coalesce(f.created_at, now()),
       row_number() over (partition by f.user_id order by f.created_at, f.machine_id)
from fastapi_legacy.favorites f;

-- history (numeric(5,2) confidences become real: 0.93 reads back as 0.93).
insert into public.history (id, user_id, machine_id, confidence, source, photo_uri, taken_at,
  created_at, updated_at, sync_version)
select h.id, h.user_id, h.machine_id, h.confidence::real,
       coalesce(nullif(left(h.source, 50), ''), 'unknown'),
       left(h.photo_uri, 2048),
       h.taken_at, h.created_at, h.created_at,
       coalesce(f.favorites, 0)
         + row_number() over (partition by h.user_id order by h.created_at, h.id)
from fastapi_legacy.history h
left join (select user_id, count(*) as favorites from fastapi_legacy.favorites group by user_id) f
  on f.user_id = h.user_id;

update public.users u
   set sync_version = c.changes
  from (select user_id, count(*) as changes
          from (select user_id from public.favorites union all select user_id from public.history) x
         group by user_id) c
 where c.user_id = u.id;

alter table public.favorites enable trigger favorites_track_change;
alter table public.history enable trigger history_track_change;

do $$
begin
  -- media_assets: the old rows become the new records, ready (the files exist). The path is
  -- the key inside the bucket; a user's photo is a `user_photo`. The service finds a
  -- user's file by deriving its key from the user and the asset id
  -- (`{user_id}/{asset_id}.{ext}`, never from the record: storage::own_upload_key), and
  -- the FastAPI backend named files `{user_id}/{uuid}.{ext}` with a uuid of their own: that
  -- uuid becomes the asset's id, so the derived key is the file's.
  if to_regclass('fastapi_legacy.media_assets') is not null then
    insert into public.media_assets (id, owner_id, machine_id, bucket, path, asset_type,
      content_type, size_bytes, status, created_at, updated_at)
    select coalesce(
             case when a.bucket_name = 'user-uploads'
                   and k.path ~ ('^' || a.user_id::text
                                 || '/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[.](jpg|jpeg|png|webp)$')
                  then substring(k.path from '/([0-9a-f-]{36})[.]')::uuid end,
             a.id),
           a.user_id, a.machine_id, a.bucket_name, k.path,
           case when a.bucket_name = 'user-uploads' then 'user_photo' else a.asset_type end,
           a.content_type, a.file_size, 'ready',
           coalesce(a.created_at, now()), coalesce(a.updated_at, a.created_at, now())
    from fastapi_legacy.media_assets a
    cross join lateral (
      select case when a.storage_path like a.bucket_name || '/%'
                  then substr(a.storage_path, length(a.bucket_name) + 2) else a.storage_path end as path
    ) k;
  end if;

  -- identification_events, with their trace ids: `machine_predicted` (a name) is kept as
  -- the answer's name and resolved to a machine id where one matches.
  if to_regclass('fastapi_legacy.identification_events') is not null then
    insert into public.identification_events (id, trace_id, user_id, machine_id, machine_name,
      confidence, raw_machine, match_score, unmapped, model, prompt_variant, latency_ms,
      image_bytes, created_at)
    select e.id, e.trace_id, e.user_id, pg_temp.machine_for(e.machine_predicted),
           e.machine_predicted, coalesce(e.confidence, 0)::real, e.raw_machine,
           e.match_score::real, coalesce(e.unmapped, false), e.model, e.prompt_variant,
           greatest(e.processing_time_ms, 0), greatest(e.image_size_bytes, 0),
           coalesce(e.created_at, now())
    from fastapi_legacy.identification_events e;
  end if;

  -- identification_corrections, keyed by the event's trace id. A correction belongs to a
  -- user here, one per trace (the latest wins): those made anonymously stay in the
  -- archive. A selection that names no machine is kept as the note.
  if to_regclass('fastapi_legacy.identification_corrections') is not null then
    insert into public.identification_corrections (id, trace_id, user_id, machine_id, note,
      source, time_to_correction_ms, created_at)
    select distinct on (e.trace_id, c.user_id)
           c.id, e.trace_id, c.user_id, pg_temp.machine_for(c.machine_selected),
           case when pg_temp.machine_for(c.machine_selected) is null
                then left('FastAPI selection: ' || c.machine_selected, 1000) end,
           case when c.correction_source in ('favorites', 'history') then c.correction_source
                else 'picker' end,  -- the old `manual_picker`, and anything unknown
           greatest(0, coalesce(c.time_to_correction_ms,
             floor(extract(epoch from c.created_at - e.created_at) * 1000)::integer)),
           coalesce(c.created_at, now())
    from fastapi_legacy.identification_corrections c
    join fastapi_legacy.identification_events e on e.id = c.event_id
    where c.user_id is not null
    order by e.trace_id, c.user_id, c.created_at desc;
  end if;
end
$$;

alter table public.favorites enable trigger favorites_within_limit;
alter table public.history enable trigger history_within_limit;
alter table public.media_assets enable trigger media_assets_within_limit;
