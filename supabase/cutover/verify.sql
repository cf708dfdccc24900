-- After a cutover (docs/cutover.md, "Verify"): for each of the FastAPI backend's tables,
-- its rows (from the archive, `fastapi_legacy`), how many of them are in this service's
-- table under the same key, how many are not, and how many of those the cutover kept in
-- the archive on purpose, with why (`fastapi_legacy.kept_back`). Right after the cutover,
-- `fastapi_rows` equals the counts `machinemate-api migrate --check` printed before it,
-- and `missing` equals `kept_back` (`migrate` and `--check` refuse otherwise). Later, the
-- rows users delete through this service count as missing too.
--
--   psql "$DATABASE_URL" -f supabase/cutover/verify.sql

create or replace function pg_temp.cutover_verify()
returns table (table_name text, fastapi_rows bigint, carried bigint, missing bigint,
               kept_back bigint, why_missing text)
language plpgsql as $$
declare
  -- (table, this service's table joined to an archived row `l`: `n`, and a column of `n`
  -- that is never null)
  carried_by constant text[][] := array[
    ['users', 'public.users n on n.id = l.id', 'id'],
    ['machines', 'public.machines n on n.id = l.id', 'id'],
    ['favorites', 'public.favorites n on n.user_id = l.user_id and n.machine_id = l.machine_id', 'user_id'],
    ['history', 'public.history n on n.id = l.id', 'id'],
    -- a user photo's id may be its file's uuid now: matched by bucket and path
    ['media_assets', 'public.media_assets n on n.bucket = l.bucket_name and n.path =
       case when l.storage_path like l.bucket_name || ''/%'' then substr(l.storage_path, length(l.bucket_name) + 2)
            else l.storage_path end', 'id'],
    ['identification_events', 'public.identification_events n on n.trace_id = l.trace_id', 'id'],
    ['identification_corrections', 'public.identification_corrections n on n.id = l.id', 'id']];
  i integer;
begin
  for i in 1 .. array_length(carried_by, 1) loop
    continue when to_regclass('fastapi_legacy.' || carried_by[i][1]) is null;
    return query execute format(
      $q$select %1$L::text, count(*), count(n.%3$I), count(*) - count(n.%3$I),
                (select count(*) from fastapi_legacy.kept_back k where k.table_name = %1$L),
                coalesce((select string_agg(format('%%s (%%s)', r.reason, r.n), '; ' order by r.reason)
                            from (select k.reason, count(*) as n from fastapi_legacy.kept_back k
                                   where k.table_name = %1$L group by k.reason) r), 'none')
         from fastapi_legacy.%1$I l left join %2$s$q$,
      carried_by[i][1], carried_by[i][2], carried_by[i][3]);
  end loop;
end
$$;

select * from pg_temp.cutover_verify() order by 1;
