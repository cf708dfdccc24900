-- After a cutover (docs/cutover.md, "Verify"): for each of the FastAPI backend's tables,
-- its rows (from the archive, `fastapi_legacy`), how many of them are in this service's
-- table under the same key, and how many are not, with why. `fastapi_rows` must equal the
-- counts taken before the switch (`machinemate-api migrate --check` prints them), and
-- `missing` must be 0 except where `why_missing` explains it.
--
--   psql "$DATABASE_URL" -f supabase/cutover/verify.sql

select 'users' as table_name,
       (select count(*) from fastapi_legacy.users) as fastapi_rows,
       (select count(*) from fastapi_legacy.users l where exists (select 1 from public.users u where u.id = l.id)) as carried,
       (select count(*) from fastapi_legacy.users l where not exists (select 1 from public.users u where u.id = l.id)) as missing,
       'none expected' as why_missing
union all
select 'machines',
       (select count(*) from fastapi_legacy.machines),
       (select count(*) from fastapi_legacy.machines l where exists (select 1 from public.machines m where m.id = l.id)),
       (select count(*) from fastapi_legacy.machines l where not exists (select 1 from public.machines m where m.id = l.id)),
       'none expected'
union all
select 'favorites',
       (select count(*) from fastapi_legacy.favorites),
       (select count(*) from fastapi_legacy.favorites l where exists
          (select 1 from public.favorites f where f.user_id = l.user_id and f.machine_id = l.machine_id)),
       (select count(*) from fastapi_legacy.favorites l where not exists
          (select 1 from public.favorites f where f.user_id = l.user_id and f.machine_id = l.machine_id)),
       'none expected'
union all
select 'history',
       (select count(*) from fastapi_legacy.history),
       (select count(*) from fastapi_legacy.history l where exists (select 1 from public.history h where h.id = l.id)),
       (select count(*) from fastapi_legacy.history l where not exists (select 1 from public.history h where h.id = l.id)),
       'none expected'
union all
select 'media_assets',
       (select count(*) from fastapi_legacy.media_assets),
       (select count(*) from fastapi_legacy.media_assets l where exists
          (select 1 from public.media_assets a where a.bucket = l.bucket_name and l.storage_path in (a.path, a.bucket || '/' || a.path))),
       (select count(*) from fastapi_legacy.media_assets l where not exists
          (select 1 from public.media_assets a where a.bucket = l.bucket_name and l.storage_path in (a.path, a.bucket || '/' || a.path))),
       'none expected (a user photo''s id is its file''s uuid now; matched by bucket and path)'
union all
select 'identification_events',
       (select count(*) from fastapi_legacy.identification_events),
       (select count(*) from fastapi_legacy.identification_events l where exists
          (select 1 from public.identification_events e where e.trace_id = l.trace_id)),
       (select count(*) from fastapi_legacy.identification_events l where not exists
          (select 1 from public.identification_events e where e.trace_id = l.trace_id)),
       'none expected'
union all
select 'identification_corrections',
       (select count(*) from fastapi_legacy.identification_corrections),
       (select count(*) from fastapi_legacy.identification_corrections l where exists
          (select 1 from public.identification_corrections c where c.id = l.id)),
       (select count(*) from fastapi_legacy.identification_corrections l where not exists
          (select 1 from public.identification_corrections c where c.id = l.id)),
       'made anonymously (no user to own it here), or an earlier correction of the same trace by the same user'
order by 1;
