-- Identifications whose caller went away after the model was asked.
--
-- The model's call is paid for whatever the caller does next, so it spends the daily
-- allowance and leaves its record like any other (src/identification/detached.rs);
-- `abandoned` says nobody was left to answer, and GET /api/v1/metrics/identification
-- counts them.

alter table public.identification_events
  add column abandoned boolean not null default false;
