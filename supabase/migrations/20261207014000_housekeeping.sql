-- What `machinemate-api maintain` (docs/operations.md, "Housekeeping") needs: where its
-- sweep of stored uploads got to, and indexes for the rows it looks for, so that each
-- of its bounded batches reads only what it removes.

create table public.maintenance_state (
  name text primary key,
  value text,
  updated_at timestamptz not null default now()
);
comment on table public.maintenance_state is
  'Where housekeeping left off (the sweep of stored uploads); the service only.';
alter table public.maintenance_state enable row level security;

-- Indexes without CONCURRENTLY (squawk's require-concurrent-index-creation): no production
-- database holds rows here yet. Production gets this schema at the cutover, which runs
-- every migration in one transaction (where CONCURRENTLY cannot run) before any row is
-- copied; dev and staging tables are small, built well within migrate's lock_timeout.
-- squawk-ignore require-concurrent-index-creation
create index media_assets_pending_idx on public.media_assets (created_at) where status = 'pending';
-- squawk-ignore require-concurrent-index-creation
create index identification_corrections_created_idx on public.identification_corrections (created_at);
-- squawk-ignore require-concurrent-index-creation
create index identification_ip_quota_day_idx on public.identification_ip_quota (day);
-- squawk-ignore require-concurrent-index-creation
create index rate_limits_window_idx on public.rate_limits (window_start);
