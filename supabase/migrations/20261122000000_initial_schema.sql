-- MachineMate initial schema: users, catalog, favorites, history, media, identification.
-- Applies to a fresh Supabase database (or the local bootstrap in supabase/local/).
-- Every table has Row Level Security: user data is owner-only, the catalog is readable
-- by all and written only by the service role (which bypasses RLS).

-- Shared trigger: keep updated_at true on every update.
create or replace function public.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

-- users ----------------------------------------------------------------------------------
create table public.users (
  id uuid primary key references auth.users (id) on delete cascade,
  email text,
  display_name text check (char_length(display_name) <= 100),
  avatar_url text,
  preferences jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.users is 'App profile of a Supabase Auth user; created by a trigger on sign-up.';

create trigger users_set_updated_at before update on public.users
  for each row execute function public.set_updated_at();

-- Security definer so the sign-up transaction (run by Supabase Auth) can write it.
create or replace function public.handle_new_user() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.users (id, email, display_name)
  values (
    new.id,
    new.email,
    coalesce(new.raw_user_meta_data ->> 'full_name', new.raw_user_meta_data ->> 'name')
  )
  on conflict (id) do nothing;
  return new;
end
$$;
revoke execute on function public.handle_new_user() from public, anon, authenticated;

create trigger on_auth_user_created after insert on auth.users
  for each row execute function public.handle_new_user();

-- Users who signed up before this migration get their row too.
insert into public.users (id, email)
select id, email from auth.users
on conflict (id) do nothing;

alter table public.users enable row level security;
create policy "users read own profile" on public.users
  for select to authenticated using (id = (select auth.uid()));
create policy "users update own profile" on public.users
  for update to authenticated using (id = (select auth.uid())) with check (id = (select auth.uid()));
create policy "users delete own profile" on public.users
  for delete to authenticated using (id = (select auth.uid()));

-- machines (the catalog) -----------------------------------------------------------------
create table public.machines (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9_]{1,62}$'),
  name text not null unique check (char_length(name) between 2 and 100),
  category text not null check (category in
    ('Upper Body', 'Lower Body', 'Back', 'Chest', 'Shoulders', 'Arms', 'Core', 'Cardio', 'Full Body')),
  difficulty text not null check (difficulty in ('beginner', 'intermediate', 'advanced')),
  primary_muscles text[] not null,
  secondary_muscles text[] not null default '{}',
  equipment_type text not null check (equipment_type in
    ('selectorized', 'plate_loaded', 'cable', 'cardio', 'smith', 'bodyweight', 'assisted')),
  setup_steps text[] not null,
  how_to_steps text[] not null,
  common_mistakes text[] not null,
  safety_tips text[] not null,
  beginner_tips text[] not null,
  thumbnail_url text,
  image_url text,
  video_url text,
  muscle_diagram_url text,
  tags text[] not null default '{}',
  -- Recognition hints for identification: other names, and what a photo shows.
  synonyms text[] not null default '{}',
  visual_cues text[] not null default '{}',
  metadata jsonb not null default '{}'::jsonb,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.machines is 'The gym machine catalog with usage and safety guidance.';

create trigger machines_set_updated_at before update on public.machines
  for each row execute function public.set_updated_at();

-- List queries: ordered by name within active/inactive, filtered by category,
-- difficulty and tags.
create index machines_active_name_idx on public.machines (is_active, name);
create index machines_category_name_idx on public.machines (category, name);
create index machines_difficulty_name_idx on public.machines (difficulty, name);
create index machines_tags_idx on public.machines using gin (tags);

alter table public.machines enable row level security;
create policy "catalog is readable by everyone" on public.machines
  for select to anon, authenticated using (true);
revoke insert, update, delete, truncate on public.machines from anon, authenticated;

-- favorites ------------------------------------------------------------------------------
create table public.favorites (
  user_id uuid not null references public.users (id) on delete cascade,
  machine_id text not null references public.machines (id) on update cascade on delete cascade,
  notes text check (char_length(notes) <= 1000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, machine_id)
);

create trigger favorites_set_updated_at before update on public.favorites
  for each row execute function public.set_updated_at();

create index favorites_user_created_idx on public.favorites (user_id, created_at desc);
create index favorites_machine_idx on public.favorites (machine_id);

alter table public.favorites enable row level security;
create policy "favorites are owner-only" on public.favorites
  for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- history --------------------------------------------------------------------------------
create table public.history (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  machine_id text not null references public.machines (id) on update cascade on delete cascade,
  confidence real check (confidence between 0 and 1),
  source text not null default 'backend_api' check (char_length(source) between 1 and 50),
  photo_uri text check (char_length(photo_uri) <= 2048),
  taken_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create trigger history_set_updated_at before update on public.history
  for each row execute function public.set_updated_at();

create index history_user_taken_idx on public.history (user_id, taken_at desc, id);
create index history_user_machine_taken_idx on public.history (user_id, machine_id, taken_at desc);
create index history_machine_idx on public.history (machine_id);

alter table public.history enable row level security;
create policy "history is owner-only" on public.history
  for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- media_assets ---------------------------------------------------------------------------
create table public.media_assets (
  id uuid primary key default gen_random_uuid(),
  -- null for system assets (tutorials, catalog images), set for user uploads.
  owner_id uuid references public.users (id) on delete cascade,
  machine_id text references public.machines (id) on update cascade on delete set null,
  bucket text not null check (bucket in ('machines', 'tutorials', 'user-uploads')),
  path text not null check (char_length(path) between 1 and 1024),
  asset_type text not null check (asset_type in
    ('image', 'thumbnail', 'video', 'diagram', 'user_photo')),
  content_type text not null,
  size_bytes bigint check (size_bytes >= 0),
  status text not null default 'pending' check (status in ('pending', 'ready')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (bucket, path),
  -- user uploads live under the owner's folder
  check (bucket <> 'user-uploads' or (owner_id is not null and path like owner_id::text || '/%'))
);

create trigger media_assets_set_updated_at before update on public.media_assets
  for each row execute function public.set_updated_at();

create index media_assets_owner_created_idx on public.media_assets (owner_id, created_at desc);
create index media_assets_machine_idx on public.media_assets (machine_id) where machine_id is not null;

alter table public.media_assets enable row level security;
create policy "media readable by owner, system media by all" on public.media_assets
  for select to anon, authenticated
  using (owner_id is null or owner_id = (select auth.uid()));
create policy "media written by owner" on public.media_assets
  for insert to authenticated with check (owner_id = (select auth.uid()));
create policy "media updated by owner" on public.media_assets
  for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy "media deleted by owner" on public.media_assets
  for delete to authenticated using (owner_id = (select auth.uid()));

-- identification_events ------------------------------------------------------------------
create table public.identification_events (
  id uuid primary key default gen_random_uuid(),
  trace_id text not null unique check (char_length(trace_id) between 1 and 64),
  user_id uuid references public.users (id) on delete cascade,
  machine_id text references public.machines (id) on update cascade on delete set null,
  machine_name text not null,
  confidence real not null check (confidence between 0 and 1),
  mocked boolean not null default false,
  raw_text text,
  raw_machine text,
  match_score real,
  unmapped boolean not null default false,
  model text,
  prompt text,
  prompt_variant text,
  error text,
  latency_ms integer check (latency_ms >= 0),
  image_bytes integer check (image_bytes >= 0),
  created_at timestamptz not null default now()
);

create index identification_events_user_created_idx
  on public.identification_events (user_id, created_at desc);
create index identification_events_created_idx on public.identification_events (created_at);

alter table public.identification_events enable row level security;
create policy "identifications readable by owner" on public.identification_events
  for select to authenticated using (user_id = (select auth.uid()));
create policy "identifications written by owner" on public.identification_events
  for insert to authenticated with check (user_id = (select auth.uid()));

-- identification_corrections -------------------------------------------------------------
create table public.identification_corrections (
  id uuid primary key default gen_random_uuid(),
  trace_id text not null references public.identification_events (trace_id) on delete cascade,
  user_id uuid not null references public.users (id) on delete cascade,
  machine_id text references public.machines (id) on update cascade on delete set null,
  note text check (char_length(note) <= 1000),
  created_at timestamptz not null default now(),
  unique (trace_id, user_id)
);

create index identification_corrections_user_idx on public.identification_corrections (user_id);

alter table public.identification_corrections enable row level security;
create policy "corrections are owner-only" on public.identification_corrections
  for all to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

-- anon never touches user data, even through a policy mistake later.
revoke all on public.users, public.favorites, public.history,
  public.identification_events, public.identification_corrections from anon;

-- storage buckets and object policies ----------------------------------------------------
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values
  ('machines', 'machines', true, 5 * 1024 * 1024, array['image/png', 'image/jpeg', 'image/webp']),
  ('tutorials', 'tutorials', false, 100 * 1024 * 1024, array['video/mp4', 'video/quicktime']),
  ('user-uploads', 'user-uploads', false, 10 * 1024 * 1024, array['image/png', 'image/jpeg', 'image/webp'])
on conflict (id) do update set
  public = excluded.public,
  file_size_limit = excluded.file_size_limit,
  allowed_mime_types = excluded.allowed_mime_types;

create policy "machine images are public" on storage.objects
  for select to anon, authenticated using (bucket_id = 'machines');
create policy "tutorials for signed-in users" on storage.objects
  for select to authenticated using (bucket_id = 'tutorials');
create policy "user uploads readable by owner" on storage.objects
  for select to authenticated
  using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "user uploads written by owner" on storage.objects
  for insert to authenticated
  with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "user uploads updated by owner" on storage.objects
  for update to authenticated
  using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy "user uploads deleted by owner" on storage.objects
  for delete to authenticated
  using (bucket_id = 'user-uploads' and (storage.foldername(name))[1] = (select auth.uid())::text);
