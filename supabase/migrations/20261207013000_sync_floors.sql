-- Sync tombstones are purged, and cursors older than the purge sync from the start.
--
-- Each deletion of a favorite or history entry leaves a tombstone (20261122010000) that
-- a device's next sync from an older cursor reads; nothing ever removed them (100
-- add/delete cycles left 100). `machinemate-api maintain` now purges tombstones older
-- than its retention (SYNC_TOMBSTONE_RETENTION_DAYS) and records, per user, the highest
-- change version it purged. A cursor older than that may have missed a deletion: the
-- sync answers it from the start, flagged `reset`, so the device replaces what it holds.

create table public.sync_floors (
  user_id uuid primary key references public.users (id) on delete cascade,
  purged_through bigint not null check (purged_through >= 0)
);
comment on table public.sync_floors is
  'Per user, the highest change version whose tombstone was purged: older cursors sync from the start.';
alter table public.sync_floors enable row level security;
create policy "sync floors readable by owner" on public.sync_floors
  for select to authenticated using (user_id = (select auth.uid()));
grant select on public.sync_floors to machinemate_request;

-- Indexes without CONCURRENTLY (squawk's require-concurrent-index-creation): no production
-- database holds rows here yet. Production gets this schema at the cutover, which runs
-- every migration in one transaction (where CONCURRENTLY cannot run) before any row is
-- copied; dev and staging tables are small, built well within migrate's lock_timeout.
-- squawk-ignore require-concurrent-index-creation
create index sync_tombstones_deleted_idx on public.sync_tombstones (deleted_at);
