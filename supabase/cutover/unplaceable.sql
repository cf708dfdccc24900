-- Rows of the FastAPI backend's database that this service's schema cannot hold and that
-- no archive-only rule covers (docs/cutover.md, "What stops a cutover"): catalog entries
-- the new catalog's rules refuse. Favorites, history and media of such a machine could not
-- point at it either, so `migrate` (and `migrate --check`) stop before changing anything,
-- naming each row, for an operator to fix in the old catalog first. Read before the
-- cutover, on `public`.

select 'machines' as table_name, m.id as key, r.reason
from public.machines m
cross join lateral (
  select case
    when m.id !~ '^[a-z0-9][a-z0-9_]{1,62}$'
      then 'the id is not 2 to 63 lowercase letters, digits and underscores'
    when char_length(m.name) not between 2 and 100 then 'the name is not 2 to 100 characters'
    when exists (select 1 from public.machines o where o.name = m.name and o.id < m.id)
      then format('the name %L is another machine''s too', m.name)
    when m.category is null or m.category not in ('Upper Body', 'Lower Body', 'Back', 'Chest', 'Shoulders',
                                 'Arms', 'Core', 'Cardio', 'Full Body')
      then format('the category %L is not one of the app''s nine', m.category)
    when initcap(m.difficulty) is null or initcap(m.difficulty) not in ('Beginner', 'Intermediate', 'Advanced')
      then format('the difficulty %L is not beginner, intermediate or advanced', m.difficulty)
    when m.is_active is null then 'it is neither active nor retired'
  end as reason
) r
where r.reason is not null
order by m.id
limit 100;
