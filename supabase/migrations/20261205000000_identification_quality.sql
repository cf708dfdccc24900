-- What each prompt variant and model earns (GET /api/v1/metrics/identification).
--
-- Identifications record why an answer was unusable and what the call cost; corrections
-- record where in the app the user corrected from and how long after the
-- identification. Events already recorded get their failure from the error they carry.

alter table public.identification_events
  add column failure text check (failure in ('unparseable', 'refused', 'truncated', 'no_answer', 'upstream')),
  add column prompt_tokens integer check (prompt_tokens >= 0),
  add column completion_tokens integer check (completion_tokens >= 0);

update public.identification_events
   set failure = case
         when error like 'Identification%' then 'upstream'
         when error like 'the completion has no choices%' or error like 'the response is not%' then 'no_answer'
         else 'unparseable'
       end
 where error is not null and failure is null;

alter table public.identification_corrections
  add column source text not null default 'picker' check (source in ('picker', 'favorites', 'history')),
  add column time_to_correction_ms integer check (time_to_correction_ms >= 0);

update public.identification_corrections c
   set time_to_correction_ms = greatest(0, floor(extract(epoch from c.created_at - e.created_at) * 1000))::integer
  from public.identification_events e
 where e.trace_id = c.trace_id and c.time_to_correction_ms is null;

-- A second correction replaces the first: its source, time and moment too.
grant update (source, time_to_correction_ms, created_at) on public.identification_corrections
  to machinemate_request;
