-- Identification quotas: a per-user daily count, taken atomically so the limit holds
-- across instances and under concurrent requests.

create table public.identification_quota (
  user_id uuid not null references public.users (id) on delete cascade,
  day date not null,
  used integer not null default 0 check (used >= 0),
  primary key (user_id, day)
);
comment on table public.identification_quota is 'Identifications used per user per UTC day.';

alter table public.identification_quota enable row level security;
create policy "quota readable by owner" on public.identification_quota
  for select to authenticated using (user_id = (select auth.uid()));
revoke all on public.identification_quota from anon;

-- Old days are worth nothing: a small index to purge them.
create index identification_quota_day_idx on public.identification_quota (day);

-- Identification events get the fields the contract's trace shows.
alter table public.identification_events add column top_candidates jsonb not null default '[]'::jsonb;
alter table public.identification_events add column cached boolean not null default false;

-- Anonymous callers (when a deployment allows them) are limited per client address,
-- stored only as a hash.
create table public.identification_ip_quota (
  ip_hash text not null,
  day date not null,
  used integer not null default 0 check (used >= 0),
  primary key (ip_hash, day)
);
alter table public.identification_ip_quota enable row level security;
revoke all on public.identification_ip_quota from anon, authenticated;
