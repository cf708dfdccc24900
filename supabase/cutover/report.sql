-- What the cutover did with every row a fresh install of this service would not hold, by
-- class and count (docs/cutover.md, "Rows a fresh install would not hold"). Run by
-- `machinemate-api migrate` and `migrate --check` after the copy, in the cutover's
-- transaction; the media and identification tables are optional in the old schema.

create or replace function pg_temp.cutover_report()
returns table (table_name text, class text, rows bigint, outcome text)
language plpgsql as $$
begin
  return query
  select 'users', 'display name over 100 characters', count(*), 'carried whole'
    from public.users u join fastapi_legacy.users l on l.id = u.id
   where char_length(l.display_name) > 100
  union all
  select 'users', 'preferences not a JSON object', count(*), 'served as {}; the archive keeps them'
    from public.users u join fastapi_legacy.users l on l.id = u.id
   where jsonb_typeof(l.preferences::jsonb) is distinct from 'object'
  union all
  select 'machines', 'an id favorites or history name that the catalog lacks', count(*),
         'a retired placeholder machine under that id (readable by id, not listed)'
    from public.machines m where m.metadata ? 'fastapi_placeholder'
  union all
  select 'favorites', 'machine the catalog lacks', count(*), 'carried; its machine is a retired placeholder'
    from public.favorites f join public.machines m on m.id = f.machine_id
   where m.metadata ? 'fastapi_placeholder'
  union all
  select 'favorites', 'notes over 1000 characters', count(*), 'carried whole'
    from public.favorites f where char_length(f.notes) > 1000
  union all
  select 'history', 'machine the catalog lacks', count(*), 'carried; its machine is a retired placeholder'
    from public.history h join public.machines m on m.id = h.machine_id
   where m.metadata ? 'fastapi_placeholder'
  union all
  select 'history', 'confidence a percentage (above 1, at most 100)', count(*),
         'served divided by 100; the archive keeps the stored value'
    from fastapi_legacy.history l where l.confidence::numeric > 1 and l.confidence::numeric <= 100
     and exists (select 1 from public.history h where h.id = l.id)
  union all
  select 'history', 'confidence below 0, above 100 or NaN', count(*),
         'served as null; the archive keeps the stored value'
    from fastapi_legacy.history l
   where (l.confidence::numeric < 0 or l.confidence::numeric > 100 or l.confidence::numeric = 'NaN')
     and exists (select 1 from public.history h where h.id = l.id)
  union all
  select 'history', 'source not 1 to 50 characters', count(*), 'carried whole'
    from public.history h where char_length(h.source) not between 1 and 50
  union all
  select 'history', 'photo URI over 2048 characters', count(*), 'carried whole'
    from public.history h where char_length(h.photo_uri) > 2048;

  if to_regclass('fastapi_legacy.media_assets') is not null then
    return query execute $q$
    select 'media_assets', 'path starting with its bucket''s name', count(*), 'stored without it'
      from fastapi_legacy.media_assets l
     where l.storage_path like l.bucket_name || '/%'
       and not exists (select 1 from fastapi_legacy.kept_back k
                        where k.table_name = 'media_assets' and k.key = l.id::text)
    union all
    select 'media_assets', 'user photo not named {user}/{uuid}.{ext of its type}', count(*),
           'reachable by its owner through the recorded key (media_legacy_keys)'
      from public.media_legacy_keys
    union all
    select 'media_assets', 'negative size', count(*), 'size served as unknown; the archive keeps it'
      from fastapi_legacy.media_assets l where l.file_size < 0
       and not exists (select 1 from fastapi_legacy.kept_back k
                        where k.table_name = 'media_assets' and k.key = l.id::text)
    $q$;
  end if;
  if to_regclass('fastapi_legacy.identification_events') is not null then
    return query execute $q$
    select 'identification_events', 'no confidence', count(*), 'recorded as 0; the archive keeps null'
      from fastapi_legacy.identification_events l
     where l.confidence is null and exists (select 1 from public.identification_events e where e.id = l.id)
    union all
    select 'identification_events', 'negative processing time or image size', count(*),
           'recorded as 0; the archive keeps the stored value'
      from fastapi_legacy.identification_events l
     where (l.processing_time_ms < 0 or l.image_size_bytes < 0)
       and exists (select 1 from public.identification_events e where e.id = l.id)
    $q$;
  end if;

  return query
  select k.table_name, k.reason, count(*), 'kept in the archive only'
    from fastapi_legacy.kept_back k group by k.table_name, k.reason;
end
$$;

select * from pg_temp.cutover_report() order by 1, 2;
