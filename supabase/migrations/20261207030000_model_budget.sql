-- The global daily model budget: what every instance together has spent on the vision
-- model per UTC day (calls taken before asking, tokens added after), so that
-- IDENTIFY_MODEL_DAILY_CALLS and IDENTIFY_MODEL_DAILY_TOKENS hold exactly across
-- instances (src/db/identify/budget.rs). One small row a day; nobody but the service
-- reads it.

create table public.identification_model_budget (
  day date primary key,
  calls bigint not null default 0 check (calls >= 0),
  tokens bigint not null default 0 check (tokens >= 0)
);
comment on table public.identification_model_budget is
  'Model calls and tokens spent by all instances per UTC day (the global model budget).';

alter table public.identification_model_budget enable row level security;
revoke all on public.identification_model_budget from anon, authenticated;
