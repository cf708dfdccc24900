-- The catalog under the shipped app's ids, names, categories and capitalised difficulties.
--
-- The MachineMate app (in users' hands for months) ships 39 machines and merges the API's
-- catalog with them by id; its type for `difficulty` is 'Beginner' | 'Intermediate' |
-- 'Advanced'. Earlier releases of this service used other ids for 27 of them and lowercase
-- difficulties. On a database those releases filled, this migration moves every machine,
-- and everything that points at it, to the app's id; on a fresh database (an empty catalog)
-- it only changes the difficulty check. `supabase/seed.sql` holds the same ids and names;
-- run `machinemate-api seed` after it for the guidance of the machines added with it.

-- Difficulty, capitalised as the app's type ------------------------------------------------
alter table public.machines drop constraint if exists machines_difficulty_check;
update public.machines set difficulty = initcap(difficulty) where difficulty <> initcap(difficulty);
alter table public.machines add constraint machines_difficulty_check
  check (difficulty in ('Beginner', 'Intermediate', 'Advanced'));

-- Sync: a favorite whose machine id changes is, to a client, the old favorite deleted and a
-- new one added. The trigger now leaves a tombstone for the old key when the key changes.
create or replace function public.track_user_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  uid uuid;
  version bigint;
  entity_key text;
  old_key text;
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

  if tg_op = 'UPDATE' then
    old_key := to_jsonb(old) ->> tg_argv[1];
    if old_key is distinct from entity_key and version is not null then
      insert into public.sync_tombstones (user_id, entity, entity_id, sync_version)
      values (uid, tg_argv[0], old_key, version)
      on conflict (user_id, entity, entity_id)
        do update set sync_version = excluded.sync_version, deleted_at = now();
    end if;
  end if;

  new.sync_version := coalesce(version, 0);
  if tg_op = 'INSERT' or old_key is distinct from entity_key then
    -- Re-adding something deleted earlier: it is no longer a deletion.
    delete from public.sync_tombstones
    where user_id = uid and entity = tg_argv[0] and entity_id = entity_key;
  end if;
  return new;
end
$$;
revoke execute on function public.track_user_change() from public, anon, authenticated;

-- Earlier ids -> the app's ids ------------------------------------------------------------
-- Every foreign key to machines cascades on update, so renaming a machine carries its
-- favorites, history, media, identifications and corrections with it. Where the app's id
-- already exists (the indoor cycling bike, which the app counts as its exercise bike), the
-- rows move to it and the duplicate goes: the app must never see two ids for one machine.

do $$
declare
  r record;
begin
  for r in
    select mr.old_id, mr.new_id, exists (select 1 from public.machines where id = mr.new_id) as merge
    from (values
      ('ab_crunch', 'ab_crunch_machine'),
      ('assisted_pull_up', 'assisted_pullup_dip'),
      ('back_extension', 'back_extension_machine'),
      ('bicep_curl', 'bicep_curl_machine'),
      ('calf_raise', 'standing_calf_raise'),
      ('decline_chest_press', 'decline_bench_press'),
      ('elliptical', 'elliptical_machine'),
      ('functional_trainer', 'dual_adjustable_pulley'),
      ('glute_kickback', 'glute_kickback_machine'),
      ('hack_squat', 'hack_squat_machine'),
      ('hip_abductor', 'hip_abductor_machine'),
      ('hip_adductor', 'hip_adductor_machine'),
      ('indoor_cycling_bike', 'exercise_bike'),
      ('lateral_raise', 'lateral_raise_machine'),
      ('leg_curl', 'seated_leg_curl'),
      ('leg_extension', 'leg_extension_machine'),
      ('lying_leg_curl', 'leg_curl_machine'),
      ('pec_deck', 'pec_deck_machine'),
      ('preacher_curl', 'preacher_curl_machine'),
      ('reverse_fly', 'reverse_fly_machine'),
      ('seated_calf_raise', 'calf_raise_machine'),
      ('smith_machine', 'smith_machine_squat'),
      ('t_bar_row', 't_bar_row_machine'),
      ('torso_rotation', 'torso_rotation_machine'),
      ('triceps_extension', 'tricep_extension_machine')
    ) as mr (old_id, new_id)
    where exists (select 1 from public.machines where id = mr.old_id)
  loop
    if r.merge then
      -- A user who favorited both keeps one favorite, with the duplicate's notes if it had none.
      update public.favorites keep set notes = coalesce(keep.notes, dup.notes)
        from public.favorites dup
       where dup.machine_id = r.old_id and keep.machine_id = r.new_id and keep.user_id = dup.user_id
         and keep.notes is null and dup.notes is not null;
      delete from public.favorites dup
       using public.favorites keep
       where dup.machine_id = r.old_id and keep.machine_id = r.new_id and keep.user_id = dup.user_id;
      update public.favorites set machine_id = r.new_id where machine_id = r.old_id;
      update public.history set machine_id = r.new_id where machine_id = r.old_id;
      update public.media_assets set machine_id = r.new_id where machine_id = r.old_id;
      update public.identification_events set machine_id = r.new_id where machine_id = r.old_id;
      update public.identification_corrections set machine_id = r.new_id where machine_id = r.old_id;
      delete from public.machines where id = r.old_id;
    else
      update public.machines set id = r.new_id where id = r.old_id;
    end if;
    update public.machine_audit set machine_id = r.new_id where machine_id = r.old_id;
  end loop;
end
$$;

-- The app's names, categories and difficulties for its 39 ids, where they exist ----------
update public.machines m
   set name = app.name, category = app.category, difficulty = app.difficulty
  from (values
  ('leg_press', 'Seated Leg Press', 'Lower Body', 'Beginner'),
  ('lat_pulldown', 'Lat Pulldown', 'Back', 'Beginner'),
  ('chest_press', 'Chest Press Machine', 'Chest', 'Beginner'),
  ('seated_row', 'Seated Cable Row', 'Back', 'Beginner'),
  ('shoulder_press', 'Shoulder Press Machine', 'Shoulders', 'Intermediate'),
  ('treadmill', 'Treadmill', 'Cardio', 'Beginner'),
  ('rowing_machine', 'Rowing Machine', 'Cardio', 'Beginner'),
  ('elliptical_machine', 'Elliptical Machine', 'Cardio', 'Beginner'),
  ('exercise_bike', 'Exercise Bike', 'Cardio', 'Beginner'),
  ('stair_climber', 'Stair Climber', 'Cardio', 'Intermediate'),
  ('smith_machine_squat', 'Smith Machine Squat', 'Lower Body', 'Beginner'),
  ('cable_crossover', 'Cable Crossover', 'Chest', 'Intermediate'),
  ('preacher_curl_machine', 'Preacher Curl Machine', 'Arms', 'Beginner'),
  ('tricep_extension_machine', 'Tricep Extension Machine', 'Arms', 'Beginner'),
  ('leg_extension_machine', 'Leg Extension Machine', 'Lower Body', 'Beginner'),
  ('leg_curl_machine', 'Leg Curl Machine', 'Lower Body', 'Beginner'),
  ('calf_raise_machine', 'Seated Calf Raise Machine', 'Lower Body', 'Beginner'),
  ('pec_deck_machine', 'Pec Deck Fly Machine', 'Chest', 'Beginner'),
  ('hip_abductor_machine', 'Hip Abductor Machine', 'Lower Body', 'Beginner'),
  ('hip_adductor_machine', 'Hip Adductor Machine', 'Lower Body', 'Beginner'),
  ('assisted_pullup_dip', 'Assisted Pull-up/Dip Machine', 'Back', 'Beginner'),
  ('back_extension_machine', 'Back Extension Machine', 'Back', 'Beginner'),
  ('incline_chest_press', 'Incline Chest Press Machine', 'Chest', 'Beginner'),
  ('hack_squat_machine', 'Hack Squat Machine', 'Lower Body', 'Intermediate'),
  ('ab_crunch_machine', 'Ab Crunch Machine', 'Core', 'Beginner'),
  ('torso_rotation_machine', 'Torso Rotation Machine', 'Core', 'Beginner'),
  ('t_bar_row_machine', 'T-Bar Row Machine', 'Back', 'Intermediate'),
  ('decline_bench_press', 'Decline Bench Press Machine', 'Chest', 'Beginner'),
  ('reverse_fly_machine', 'Reverse Fly Machine', 'Back', 'Beginner'),
  ('standing_calf_raise', 'Standing Calf Raise Machine', 'Lower Body', 'Beginner'),
  ('glute_kickback_machine', 'Glute Kickback Machine', 'Lower Body', 'Beginner'),
  ('bicep_curl_machine', 'Bicep Curl Machine', 'Arms', 'Beginner'),
  ('vertical_chest_press', 'Vertical Chest Press', 'Chest', 'Intermediate'),
  ('lat_pulldown_close_grip', 'Close Grip Lat Pulldown', 'Back', 'Beginner'),
  ('chest_supported_row', 'Chest Supported Row Machine', 'Back', 'Beginner'),
  ('shoulder_shrug_machine', 'Shoulder Shrug Machine', 'Back', 'Beginner'),
  ('seated_leg_curl', 'Seated Leg Curl Machine', 'Lower Body', 'Beginner'),
  ('dual_adjustable_pulley', 'Dual Adjustable Pulley', 'Full Body', 'Intermediate'),
  ('lateral_raise_machine', 'Lateral Raise Machine', 'Shoulders', 'Beginner')
  ) as app (id, name, category, difficulty)
 where m.id = app.id
   and (m.name, m.category, m.difficulty) is distinct from (app.name, app.category, app.difficulty);
