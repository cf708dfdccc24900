-- Offline sync, safe retries, catalog curation and search.
--
-- Sync: every change to a user's favorites or history takes the next number of that
-- user's `sync_version` (the user row is locked until commit, so the numbers become
-- visible in order); deletions leave tombstones. Catalog changes take the next number
-- of the single-row `catalog_state`. A client's cursor is the pair of numbers it has seen.

-- per-user change versions ---------------------------------------------------------------
alter table public.users add column sync_version bigint not null default 0;
alter table public.favorites add column sync_version bigint not null default 0;
alter table public.history add column sync_version bigint not null default 0;

create table public.sync_tombstones (
  user_id uuid not null references public.users (id) on delete cascade,
  entity text not null check (entity in ('favorite', 'history')),
  entity_id text not null,
  sync_version bigint not null,
  deleted_at timestamptz not null default now(),
  primary key (user_id, entity, entity_id)
);
comment on table public.sync_tombstones is 'Deleted favorites and history entries, for offline sync.';

create index favorites_user_sync_idx on public.favorites (user_id, sync_version);
create index history_user_sync_idx on public.history (user_id, sync_version);
create index sync_tombstones_user_sync_idx on public.sync_tombstones (user_id, sync_version);

alter table public.sync_tombstones enable row level security;
create policy "tombstones readable by owner" on public.sync_tombstones
  for select to authenticated using (user_id = (select auth.uid()));
revoke all on public.sync_tombstones from anon;

-- tg_argv[0]: entity name; tg_argv[1]: the column that identifies the row to the app.
create or replace function public.track_user_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  uid uuid;
  version bigint;
  entity_key text;
begin
  if tg_op = 'DELETE' then
    uid := old.user_id;
    entity_key := to_jsonb(old) ->> tg_argv[1];
  else
    uid := new.user_id;
    entity_key := to_jsonb(new) ->> tg_argv[1];
  end if;

  update public.users set sync_version = sync_version + 1
  where id = uid
  returning sync_version into version;

  if tg_op = 'DELETE' then
    -- No user row: the account itself is being deleted, nothing left to sync.
    if version is not null then
      insert into public.sync_tombstones (user_id, entity, entity_id, sync_version)
      values (uid, tg_argv[0], entity_key, version)
      on conflict (user_id, entity, entity_id)
        do update set sync_version = excluded.sync_version, deleted_at = now();
    end if;
    return old;
  end if;

  new.sync_version := coalesce(version, 0);
  if tg_op = 'INSERT' then
    -- Re-adding something deleted earlier: it is no longer a deletion.
    delete from public.sync_tombstones
    where user_id = uid and entity = tg_argv[0] and entity_id = entity_key;
  end if;
  return new;
end
$$;
revoke execute on function public.track_user_change() from public, anon, authenticated;

create trigger favorites_track_change before insert or update on public.favorites
  for each row execute function public.track_user_change('favorite', 'machine_id');
create trigger favorites_track_delete after delete on public.favorites
  for each row execute function public.track_user_change('favorite', 'machine_id');
create trigger history_track_change before insert or update on public.history
  for each row execute function public.track_user_change('history', 'id');
create trigger history_track_delete after delete on public.history
  for each row execute function public.track_user_change('history', 'id');

-- catalog versions -----------------------------------------------------------------------
create table public.catalog_state (
  id boolean primary key default true check (id),
  version bigint not null default 0,
  changed_at timestamptz not null default now()
);
insert into public.catalog_state default values;

alter table public.catalog_state enable row level security;
create policy "catalog state is readable by everyone" on public.catalog_state
  for select to anon, authenticated using (true);
revoke insert, update, delete, truncate on public.catalog_state from anon, authenticated;

alter table public.machines add column catalog_version bigint not null default 0;
create index machines_catalog_version_idx on public.machines (catalog_version);

create or replace function public.track_catalog_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.catalog_state set version = version + 1, changed_at = now()
  returning version into new.catalog_version;
  return new;
end
$$;
revoke execute on function public.track_catalog_change() from public, anon, authenticated;

create trigger machines_track_change before insert or update on public.machines
  for each row execute function public.track_catalog_change();

-- Rows that existed before this migration get a version too.
update public.machines set updated_at = updated_at;

-- catalog curation audit -----------------------------------------------------------------
create table public.machine_audit (
  id bigint generated always as identity primary key,
  machine_id text not null,
  action text not null check (action in ('create', 'update', 'retire', 'restore')),
  -- no foreign key: the record outlives the machine and the admin's account
  actor_id uuid,
  actor_role text not null,
  before jsonb,
  after jsonb,
  changed_at timestamptz not null default now()
);
comment on table public.machine_audit is 'Who changed which machine, when, with the row before and after.';
create index machine_audit_machine_idx on public.machine_audit (machine_id, changed_at desc);

alter table public.machine_audit enable row level security;
revoke all on public.machine_audit from anon, authenticated;

-- idempotency keys -----------------------------------------------------------------------
create table public.idempotency_keys (
  user_id uuid not null references public.users (id) on delete cascade,
  key text not null check (char_length(key) between 1 and 255),
  method text not null,
  path text not null,
  request_hash text not null,
  status_code smallint not null,
  response_body jsonb,
  created_at timestamptz not null default now(),
  primary key (user_id, key)
);
comment on table public.idempotency_keys is 'First responses to POSTs sent with an Idempotency-Key (kept 24 hours).';
create index idempotency_keys_created_idx on public.idempotency_keys (created_at);

alter table public.idempotency_keys enable row level security;
create policy "idempotency keys are owner-only" on public.idempotency_keys
  for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));
revoke all on public.idempotency_keys from anon;

-- catalog search -------------------------------------------------------------------------
create extension if not exists pg_trgm with schema extensions;

alter table public.machines add column search_document text not null default '';
alter table public.machines add column search_vector tsvector not null default ''::tsvector;

-- Name, synonyms, muscles, tags and category, lower-cased: what a gym-goer types.
create or replace function public.machines_search_document() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.search_document := lower(concat_ws(' ',
    new.name,
    array_to_string(new.synonyms, ' '),
    array_to_string(new.primary_muscles, ' '),
    array_to_string(new.secondary_muscles, ' '),
    array_to_string(new.tags, ' '),
    new.category,
    replace(new.equipment_type, '_', ' ')));
  new.search_vector :=
    setweight(to_tsvector('english', new.name), 'A')
    || setweight(to_tsvector('english', array_to_string(new.synonyms, ' ')), 'A')
    || setweight(to_tsvector('english', array_to_string(new.primary_muscles, ' ')), 'B')
    || setweight(to_tsvector('english', array_to_string(new.tags, ' ')), 'C')
    || setweight(to_tsvector('english', array_to_string(new.secondary_muscles, ' ')), 'D');
  return new;
end
$$;

create trigger machines_search_document before insert or update on public.machines
  for each row execute function public.machines_search_document();

update public.machines set updated_at = updated_at;

create index machines_search_trgm_idx on public.machines
  using gin (search_document extensions.gin_trgm_ops);
create index machines_search_vector_idx on public.machines using gin (search_vector);

-- service secrets ------------------------------------------------------------------------
-- Keys every instance must share (e.g. the one that signs sync cursors), generated here
-- from Postgres's strong random source so no deployment has to configure them.
create table public.app_secrets (
  name text primary key,
  value bytea not null check (length(value) >= 32),
  created_at timestamptz not null default now()
);
alter table public.app_secrets enable row level security;
revoke all on public.app_secrets from anon, authenticated;

insert into public.app_secrets (name, value)
values ('sync_cursor', uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
on conflict (name) do nothing;
