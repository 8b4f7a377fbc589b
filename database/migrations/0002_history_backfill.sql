-- sync-historical bookkeeping. A pass is one sweep of a selection of items (one shard of it).
-- Each item's snapshot rows and its progress row commit in one transaction, so a run that dies
-- leaves whole items only, and the next run of the same selection resumes the open pass.
CREATE TABLE history_backfill_passes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  scope        text        NOT NULL,            -- selection and shard: "top=2000 kinds=pools,protocols shard=0/4"
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz,
  first_run_id bigint,                          -- sync_jobs.id; no foreign key: cleanup deletes old runs
  last_run_id  bigint,
  runs         integer     NOT NULL DEFAULT 1   -- how many runs worked on this pass (resumes + 1)
);
-- At most one open pass per scope: that is the one a rerun resumes.
CREATE UNIQUE INDEX history_backfill_passes_open_idx ON history_backfill_passes (scope) WHERE finished_at IS NULL;

-- The latest backfill outcome of each item.
CREATE TABLE history_backfill_items (
  item_kind    text        NOT NULL CHECK (item_kind IN ('pool', 'protocol')),
  item_id      text        NOT NULL,            -- pools.pool_id or protocols.id
  pass_id      bigint      NOT NULL,
  run_id       bigint      NOT NULL,
  status       text        NOT NULL CHECK (status IN ('done', 'not_found', 'failed')),
  first_date   date,                            -- first and last UTC date of the history received
  last_date    date,
  days         integer     NOT NULL DEFAULT 0,  -- dates in the history received
  rows_created integer     NOT NULL DEFAULT 0,
  rows_updated integer     NOT NULL DEFAULT 0,
  live_kept    integer     NOT NULL DEFAULT 0,  -- dates that already had a live row, left as they were
  failures     integer     NOT NULL DEFAULT 0,  -- consecutive failed attempts
  error        text,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (item_kind, item_id)
);
CREATE INDEX history_backfill_items_pass_idx ON history_backfill_items (pass_id);

-- Shards of one job run side by side, each under its own lock "<job>/<instance>" (the instance is
-- recorded in args). A running row is abandoned when the lock of its own instance is free.
CREATE OR REPLACE VIEW v_sync_status AS
SELECT DISTINCT ON (j.job_name)
  j.job_name,
  CASE WHEN j.status = 'running' AND NOT job_lock_held(j.job_name || coalesce('/' || (j.args ->> 'instance'), ''))
       THEN 'abandoned' ELSE j.status END AS status,
  j.trigger,
  j.started_at,
  j.finished_at,
  j.duration_ms,
  j.records_processed,
  j.records_created,
  j.records_updated,
  j.records_unchanged,
  j.records_deactivated,
  j.records_failed,
  j.api_calls,
  j.retries,
  j.rate_limit_hits,
  j.error_message,
  s.last_success_at,
  s.failures_7d,
  s.runs_7d
FROM sync_jobs j
JOIN LATERAL (
  SELECT max(started_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
         count(*) FILTER (WHERE status = 'failed' AND started_at > now() - interval '7 days') AS failures_7d,
         count(*) FILTER (WHERE started_at > now() - interval '7 days') AS runs_7d
  FROM sync_jobs x WHERE x.job_name = j.job_name
) s ON true
WHERE j.status <> 'skipped'
ORDER BY j.job_name, j.started_at DESC, j.id DESC;
