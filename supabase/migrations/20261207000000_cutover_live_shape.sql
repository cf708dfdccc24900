-- What the FastAPI backend's live database holds, kept as it is (docs/cutover.md, "Rows a
-- fresh install would not hold").
--
-- 1. Text limits bound what clients write from now on, not what they wrote before. A
--    `check` constraint tests the whole row on every update: a 120-character display
--    name kept from the old backend would then refuse every later change to its row (a
--    sync version bump, a new avatar), and the cutover would have to cut it. The same
--    limits hold instead for every value written: on insert, and on an update that
--    changes that column. The API checks them first (422); this is the second wall.
--    (squawk's ban-drop-constraint is accepted below: each dropped check is replaced, in
--    the same transaction, by the trigger that keeps its guarantee for every write.)
-- 2. A user's photo the old backend stored under a key the service cannot derive from the
--    user and the asset (`{user_id}/{asset_id}.{ext}`: the client's own extension in any
--    case, none, or the phone's file name) is found through `media_legacy_keys`, which
--    only the cutover writes, from the old backend's own records.

create or replace function public.limit_written_text() returns trigger
language plpgsql
set search_path = ''
as $$
declare
  -- tg_argv: (column, least characters, most characters) for each bounded column.
  i integer := 0;
  written text;
begin
  while i < tg_nargs loop
    written := to_jsonb(new) ->> tg_argv[i];
    if written is not null
       and char_length(written) not between tg_argv[i + 1]::integer and tg_argv[i + 2]::integer
       and (tg_op = 'INSERT' or written is distinct from to_jsonb(old) ->> tg_argv[i]) then
      raise exception using
        errcode = 'check_violation',
        constraint = format('%s_%s_check', tg_table_name, tg_argv[i]),
        message = format('%s.%s: %s to %s characters', tg_table_name, tg_argv[i],
                         tg_argv[i + 1], tg_argv[i + 2]);
    end if;
    i := i + 3;
  end loop;
  return new;
end
$$;
revoke execute on function public.limit_written_text() from public, anon, authenticated;

-- squawk-ignore ban-drop-constraint
alter table public.users drop constraint if exists users_display_name_check;
create trigger users_text_within_limits before insert or update of display_name on public.users
  for each row execute function public.limit_written_text('display_name', '0', '100');

-- squawk-ignore ban-drop-constraint
alter table public.favorites drop constraint if exists favorites_notes_check;
create trigger favorites_text_within_limits before insert or update of notes on public.favorites
  for each row execute function public.limit_written_text('notes', '0', '1000');

-- squawk-ignore ban-drop-constraint
alter table public.history drop constraint if exists history_source_check;
-- squawk-ignore ban-drop-constraint
alter table public.history drop constraint if exists history_photo_uri_check;
create trigger history_text_within_limits before insert or update of source, photo_uri on public.history
  for each row execute function public.limit_written_text('source', '1', '50', 'photo_uri', '0', '2048');

-- squawk-ignore ban-drop-constraint
alter table public.identification_corrections drop constraint if exists identification_corrections_note_check;
create trigger identification_corrections_text_within_limits
  before insert or update of note on public.identification_corrections
  for each row execute function public.limit_written_text('note', '0', '1000');

-- Legacy photo keys ----------------------------------------------------------------------
create table public.media_legacy_keys (
  asset_id uuid primary key references public.media_assets (id) on delete cascade,
  owner_id uuid not null references public.users (id) on delete cascade,
  -- The object's key in `user-uploads`, always inside the owner's folder.
  key text not null check (
    char_length(key) between 38 and 1024
    and starts_with(key, owner_id::text || '/')
    and key !~ '(^|/)\.{0,2}(/|$)'
    and key !~ '[\\[:cntrl:]]')
);
comment on table public.media_legacy_keys is
  'Keys of user photos the FastAPI backend stored under names the service does not derive; written only by the cutover (docs/cutover.md).';

alter table public.media_legacy_keys enable row level security;
create policy "legacy keys readable by owner" on public.media_legacy_keys
  for select to authenticated using (owner_id = (select auth.uid()));
grant select on public.media_legacy_keys to machinemate_request;
