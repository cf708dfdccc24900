-- Cutover from the FastAPI backend's database, step 3 of 3 (docs/cutover.md): media
-- records and identifications, after copy_fastapi.sql, in the same transaction (which
-- made `fastapi_legacy.kept_back` and the helpers in pg_temp).

do $$
begin
  -- media_assets: the old rows become the new records, ready (the files exist). The path
  -- is the key inside the bucket (an old path that starts with the bucket's name loses
  -- it). The service finds a user's file by deriving its key from the user and the asset
  -- id (`{user_id}/{asset_id}.{ext}`, storage::own_upload_key): where the old path is
  -- that, with the old uuid and an extension the type allows, the file's uuid becomes the
  -- asset's id. Any other key the old backend stored (the client's own extension in any
  -- case, none, the phone's file name) is recorded in `media_legacy_keys` for the owner,
  -- and the asset keeps its old id.
  if to_regclass('fastapi_legacy.media_assets') is not null then
    create temporary table media_plan on commit drop as
    with keyed as (
      select a.id, a.user_id, a.machine_id, a.bucket_name, a.asset_type, a.content_type,
             a.file_size, a.created_at, a.updated_at,
             case when a.storage_path like a.bucket_name || '/%'
                  then substr(a.storage_path, length(a.bucket_name) + 2) else a.storage_path end as path
      from fastapi_legacy.media_assets a
    ), judged as (
      select k.*,
        case
          when k.bucket_name not in ('machines', 'tutorials', 'user-uploads')
            then 'a bucket this service does not serve'
          when k.user_id is not null and not exists (select 1 from public.users u where u.id = k.user_id)
            then 'user without an account'
          when char_length(k.path) not between 1 and 1024 then 'a path longer than 1024 characters'
          when k.bucket_name = 'user-uploads'
               and (k.user_id is null or not starts_with(k.path, k.user_id::text || '/'))
            then 'a user photo outside its owner''s folder'
          when k.bucket_name = 'user-uploads'
               and (k.path ~ '(^|/)\.{0,2}(/|$)' or k.path ~ '[\\[:cntrl:]]')
            then 'a user photo path with empty, . or .. parts'
          when row_number() over (partition by k.bucket_name, k.path order by k.created_at, k.id) > 1
            then 'a second record of the same file'
        end as kept_back,
        case when k.bucket_name = 'user-uploads'
              and k.path ~ ('^' || k.user_id::text
                            || '/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[.](jpg|jpeg|png|webp)$')
              and ((k.content_type = 'image/jpeg' and k.path ~ '[.]jpe?g$')
                   or (k.content_type = 'image/png' and k.path ~ '[.]png$')
                   or (k.content_type = 'image/webp' and k.path ~ '[.]webp$'))
             then substring(k.path from '/([0-9a-f-]{36})[.]')::uuid end as file_id
      from keyed k
    )
    select j.*,
           case when j.file_id is not null
                 and count(*) over (partition by j.file_id) = 1
                 and not exists (select 1 from fastapi_legacy.media_assets o where o.id = j.file_id and o.id <> j.id)
                then j.file_id else j.id end as new_id
    from judged j;

    insert into fastapi_legacy.kept_back (table_name, key, reason)
    select 'media_assets', p.id::text, p.kept_back from media_plan p where p.kept_back is not null;

    insert into public.media_assets (id, owner_id, machine_id, bucket, path, asset_type,
      content_type, size_bytes, status, created_at, updated_at)
    select p.new_id, p.user_id, p.machine_id, p.bucket_name, p.path,
           case when p.bucket_name = 'user-uploads' then 'user_photo' else p.asset_type end,
           p.content_type,
           case when p.file_size >= 0 then p.file_size end,  -- a negative size is unknown
           'ready', coalesce(p.created_at, now()), coalesce(p.updated_at, p.created_at, now())
    from media_plan p
    where p.kept_back is null;

    insert into public.media_legacy_keys (asset_id, owner_id, key)
    select p.new_id, p.user_id, p.path
    from media_plan p
    where p.kept_back is null and p.bucket_name = 'user-uploads' and p.file_id is distinct from p.new_id;
  end if;

  -- identification_events, with their trace ids: `machine_predicted` (a name) is kept as
  -- the answer's name and resolved to a machine id where one matches. A trace id longer
  -- than this service's 64 characters cannot be looked up by it: kept back.
  if to_regclass('fastapi_legacy.identification_events') is not null then
    insert into fastapi_legacy.kept_back (table_name, key, reason)
    select 'identification_events', e.id::text,
           case when char_length(e.trace_id) > 64 then 'a trace id longer than 64 characters'
                else 'a confidence outside 0..1' end
    from fastapi_legacy.identification_events e
    where char_length(e.trace_id) > 64 or not coalesce(e.confidence between 0 and 1, true);

    insert into public.identification_events (id, trace_id, user_id, machine_id, machine_name,
      confidence, raw_machine, match_score, unmapped, model, prompt_variant, latency_ms,
      image_bytes, created_at)
    select e.id, e.trace_id, e.user_id, pg_temp.machine_for(e.machine_predicted),
           e.machine_predicted,
           coalesce(e.confidence, 0)::real,  -- none recorded: 0, as an unknown answer has
           e.raw_machine, e.match_score::real, coalesce(e.unmapped, false), e.model, e.prompt_variant,
           greatest(e.processing_time_ms, 0), greatest(e.image_size_bytes, 0),
           coalesce(e.created_at, now())
    from fastapi_legacy.identification_events e
    where not exists (select 1 from fastapi_legacy.kept_back k
                      where k.table_name = 'identification_events' and k.key = e.id::text);
  end if;

  -- identification_corrections, keyed by the event's trace id. A correction belongs to a
  -- user here, one per trace (the latest wins). A selection that names no machine is
  -- kept as the note.
  if to_regclass('fastapi_legacy.identification_corrections') is not null then
    insert into public.identification_corrections (id, trace_id, user_id, machine_id, note,
      source, time_to_correction_ms, created_at)
    select distinct on (e.trace_id, c.user_id)
           c.id, e.trace_id, c.user_id, pg_temp.machine_for(c.machine_selected),
           case when pg_temp.machine_for(c.machine_selected) is null
                then 'FastAPI selection: ' || c.machine_selected end,
           case when c.correction_source in ('favorites', 'history') then c.correction_source
                else 'picker' end,  -- the old `manual_picker`, and anything unknown
           greatest(0, coalesce(c.time_to_correction_ms,
             least(floor(extract(epoch from c.created_at - e.created_at) * 1000), 2147483647)::integer)),
           coalesce(c.created_at, now())
    from fastapi_legacy.identification_corrections c
    join fastapi_legacy.identification_events e on e.id = c.event_id
    where c.user_id is not null
      and exists (select 1 from public.identification_events n where n.trace_id = e.trace_id)
      and exists (select 1 from public.users u where u.id = c.user_id)
    order by e.trace_id, c.user_id, c.created_at desc, c.id desc;

    insert into fastapi_legacy.kept_back (table_name, key, reason)
    select 'identification_corrections', c.id::text,
           case when c.user_id is null then 'made anonymously'
                when not exists (select 1 from public.identification_events n
                                 join fastapi_legacy.identification_events e on e.trace_id = n.trace_id
                                 where e.id = c.event_id) then 'its identification is kept back'
                when not exists (select 1 from public.users u where u.id = c.user_id) then 'user without an account'
                else 'an earlier correction of the same trace by the same user' end
    from fastapi_legacy.identification_corrections c
    where not exists (select 1 from public.identification_corrections n where n.id = c.id);
  end if;
end
$$;

alter table public.media_assets enable trigger media_assets_within_limit;
alter table public.identification_corrections enable trigger identification_corrections_text_within_limits;
