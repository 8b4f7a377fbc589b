-- defi-sync: the complete warehouse schema. Generated from database/migrations by
-- `npm run schema`; do not edit by hand. Apply to an empty database with:
--   psql "$DATABASE_URL" -f database/schema.sql
\set ON_ERROR_STOP on
BEGIN;

CREATE TABLE IF NOT EXISTS schema_migrations (
  version             integer PRIMARY KEY,
  name                text        NOT NULL,
  checksum            text        NOT NULL,
  applied_at          timestamptz NOT NULL DEFAULT now(),
  backward_compatible boolean     NOT NULL DEFAULT false,
  applied_by          text
);

-- 0001_initial.sql
-- defi-sync warehouse: current state, contract mappings, daily history and run tracking.
-- Money, TVL and APY are double precision: unbounded in range (real APYs exceed 10,000%).
-- Every DeFiLlama record is also kept whole in `raw` so fields added upstream are not lost.

-- Run tracking ---------------------------------------------------------------------------------
CREATE TABLE sync_jobs (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_name            text        NOT NULL,
  status              text        NOT NULL
    CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'skipped', 'abandoned')),
  trigger             text        NOT NULL CHECK (trigger IN ('schedule', 'manual', 'scheduler')),
  started_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at         timestamptz,
  duration_ms         bigint,
  records_processed   integer     NOT NULL DEFAULT 0,
  records_created     integer     NOT NULL DEFAULT 0,
  records_updated     integer     NOT NULL DEFAULT 0,
  records_unchanged   integer     NOT NULL DEFAULT 0,
  records_deactivated integer     NOT NULL DEFAULT 0,
  records_failed      integer     NOT NULL DEFAULT 0,
  api_calls           integer     NOT NULL DEFAULT 0,
  rate_limit_hits     integer     NOT NULL DEFAULT 0,
  retries             integer     NOT NULL DEFAULT 0,
  error_message       text,
  host                text,
  pid                 integer,
  args                jsonb       NOT NULL DEFAULT '{}'::jsonb,
  details             jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sync_jobs_job_started_idx ON sync_jobs (job_name, started_at DESC);
CREATE INDEX sync_jobs_started_idx ON sync_jobs (started_at);

-- Advisory lock keys: namespace 'defi' (0x64656669) and hashtext(job name). A running row whose
-- lock nobody holds belongs to a process that died (SIGKILL, node lost): it is abandoned.
CREATE FUNCTION job_lock_held(job text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND granted AND objsubid = 2
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid::bigint = 1684366953
      AND objid::bigint = (hashtext(job)::bigint & 4294967295)
  )
$$;

-- When a job last succeeded: "last seen" of every active row it keeps is derived from this, so
-- unchanged rows are never rewritten just to move a timestamp.
CREATE FUNCTION job_last_success(job text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT max(started_at) FROM sync_jobs WHERE job_name = job AND status = 'succeeded'
$$;

-- Current state --------------------------------------------------------------------------------
CREATE TABLE chains (
  name          text PRIMARY KEY,               -- display label, the join key used by pools
  chain_key     text,                           -- DeFiLlama's internal key (ethereum, bsc, ...)
  chain_id      bigint,                         -- EVM chain id where there is one
  gecko_id      text,
  token_symbol  text,
  cmc_id        text,
  tvl           double precision,
  is_active     boolean     NOT NULL DEFAULT true,
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz,                    -- set when the row changes or is deactivated
  raw           jsonb       NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE protocols (
  id              text PRIMARY KEY,             -- DeFiLlama protocol id ("182")
  slug            text        NOT NULL,         -- join key for pools.project
  name            text        NOT NULL,
  symbol          text,
  category        text,
  chain           text,
  chains          text[]      NOT NULL DEFAULT '{}',
  tvl             double precision,
  change_1h       double precision,
  change_1d       double precision,
  change_7d       double precision,
  mcap            double precision,
  parent_protocol text,
  listed_at       timestamptz,
  address         text,
  gecko_id        text,
  cmc_id          text,
  url             text,
  chain_tvls      jsonb       NOT NULL DEFAULT '{}'::jsonb, -- {"Ethereum": 1.2e9, ...}: chains only
  section_tvls    jsonb       NOT NULL DEFAULT '{}'::jsonb, -- {"staking": {"Ethereum": 3.4e6, "total": ...}, ...}
  is_active       boolean     NOT NULL DEFAULT true,
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz,
  raw             jsonb       NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX protocols_slug_idx ON protocols (slug);
CREATE INDEX protocols_tvl_idx ON protocols (tvl DESC NULLS LAST) WHERE is_active;

CREATE TABLE pools (
  pool_id             text PRIMARY KEY,         -- DeFiLlama pool UUID, stable across renames
  chain               text,
  project             text,                     -- = protocols.slug (no foreign key: orphans load too)
  symbol              text,
  tvl_usd             double precision,
  apy                 double precision,
  apy_base            double precision,
  apy_reward          double precision,
  apy_pct_1d          double precision,
  apy_pct_7d          double precision,
  apy_pct_30d         double precision,
  apy_mean_30d        double precision,
  apy_base_7d         double precision,
  apy_base_inception  double precision,
  il7d                double precision,
  stablecoin          boolean,
  il_risk             text,
  exposure            text,
  pool_meta           text,
  reward_tokens       text[],
  underlying_tokens   text[],
  volume_usd_1d       double precision,
  volume_usd_7d       double precision,
  predictions         jsonb,
  mu                  double precision,
  sigma               double precision,
  count               integer,
  outlier             boolean,
  is_active           boolean     NOT NULL DEFAULT true,
  first_seen_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz,
  raw                 jsonb       NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pools_project_idx ON pools (project);
CREATE INDEX pools_chain_idx ON pools (chain);
CREATE INDEX pools_tvl_idx ON pools (tvl_usd DESC NULLS LAST) WHERE is_active;

-- Contract addresses ---------------------------------------------------------------------------
CREATE TABLE contract_mappings (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pool_id             text,                     -- set for pool-level mappings
  protocol_id         text,                     -- set for protocol-level mappings
  chain               text        NOT NULL,     -- display label
  chain_key           text,
  evm_chain_id        bigint,
  address             text        NOT NULL,     -- normalised: lower-case for EVM
  address_display     text        NOT NULL,     -- EIP-55 checksum for EVM, as given otherwise
  address_family      text        NOT NULL
    CHECK (address_family IN ('evm', 'solana', 'move', 'tron', 'ton', 'bitcoin', 'other')),
  contract_type       text        NOT NULL
    CHECK (contract_type IN ('pool', 'lp_token', 'underlying_token', 'reward_token', 'protocol_token', 'factory', 'router')),
  confidence          numeric(3, 2) NOT NULL CHECK (confidence BETWEEN 0 AND 1),
  data_sources        jsonb       NOT NULL DEFAULT '[]'::jsonb,
  is_contract         boolean,                  -- on-chain verdict; null when not checked
  verified_at         timestamptz,
  verification_method text,
  is_active           boolean     NOT NULL DEFAULT true,
  first_seen_at       timestamptz NOT NULL DEFAULT now(),
  last_seen_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((pool_id IS NULL) <> (protocol_id IS NULL)),
  CONSTRAINT contract_mappings_natural_key
    UNIQUE NULLS NOT DISTINCT (pool_id, protocol_id, chain, address, contract_type)
);
CREATE INDEX contract_mappings_pool_idx ON contract_mappings (pool_id) WHERE pool_id IS NOT NULL;
CREATE INDEX contract_mappings_protocol_idx ON contract_mappings (protocol_id) WHERE protocol_id IS NOT NULL;
CREATE INDEX contract_mappings_address_idx ON contract_mappings (address);

-- Daily history (partitioned by month; partitions are created on demand) ----------------------
CREATE TABLE pool_daily_snapshots (
  pool_id        text        NOT NULL,
  snapshot_date  date        NOT NULL,          -- UTC date
  tvl_usd        double precision,
  apy            double precision,
  apy_base       double precision,
  apy_reward     double precision,
  il7d           double precision,
  apy_base_7d    double precision,
  apy_mean_30d   double precision,
  volume_usd_1d  double precision,
  source         text        NOT NULL CHECK (source IN ('live', 'backfill')),
  captured_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pool_id, snapshot_date)
) PARTITION BY RANGE (snapshot_date);

CREATE TABLE protocol_daily_snapshots (
  protocol_id    text        NOT NULL,
  snapshot_date  date        NOT NULL,
  tvl            double precision,
  chain_tvls     jsonb       NOT NULL DEFAULT '{}'::jsonb,
  section_tvls   jsonb       NOT NULL DEFAULT '{}'::jsonb,
  mcap           double precision,
  source         text        NOT NULL CHECK (source IN ('live', 'backfill')),
  captured_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (protocol_id, snapshot_date)
) PARTITION BY RANGE (snapshot_date);

-- Creates the monthly partitions of a snapshot table covering [from_date, to_date].
CREATE FUNCTION ensure_snapshot_partitions(parent regclass, from_date date, to_date date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  month date := date_trunc('month', from_date)::date;
  created integer := 0;
  part text;
BEGIN
  WHILE month <= to_date LOOP
    part := format('%s_y%sm%s', parent::text, to_char(month, 'YYYY'), to_char(month, 'MM'));
    IF to_regclass(part) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                     part, parent, month, (month + interval '1 month')::date);
      created := created + 1;
    END IF;
    month := (month + interval '1 month')::date;
  END LOOP;
  RETURN created;
END
$$;

-- Views -----------------------------------------------------------------------------------------
-- Recent sync status: the last run of each job, its last success and recent failure counts.
CREATE VIEW v_sync_status AS
SELECT DISTINCT ON (j.job_name)
  j.job_name,
  CASE WHEN j.status = 'running' AND NOT job_lock_held(j.job_name) THEN 'abandoned' ELSE j.status END AS status,
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

-- Top pools by TVL with their mapped contract addresses (highest confidence first).
CREATE VIEW v_top_pools_with_contracts AS
SELECT
  p.pool_id,
  p.chain,
  p.project,
  pr.name AS protocol_name,
  p.symbol,
  p.tvl_usd,
  p.apy,
  p.pool_meta,
  coalesce(m.contracts, '[]'::jsonb) AS contracts,
  coalesce(m.contract_count, 0) AS contract_count,
  m.best_confidence
FROM pools p
LEFT JOIN LATERAL (
  SELECT pr1.name FROM protocols pr1 WHERE pr1.slug = p.project ORDER BY pr1.is_active DESC, pr1.id LIMIT 1
) pr ON true
LEFT JOIN LATERAL (
  SELECT jsonb_agg(jsonb_build_object(
           'address', cm.address_display, 'type', cm.contract_type,
           'confidence', cm.confidence, 'chain_id', cm.evm_chain_id, 'family', cm.address_family)
         ORDER BY cm.confidence DESC, cm.contract_type, cm.address) AS contracts,
         count(*) AS contract_count,
         max(cm.confidence) AS best_confidence
  FROM contract_mappings cm
  WHERE cm.pool_id = p.pool_id AND cm.is_active AND cm.is_contract IS NOT FALSE
) m ON true
WHERE p.is_active
ORDER BY p.tvl_usd DESC NULLS LAST;

-- Protocols with their pools: count, pool TVL and average APY. Pools whose project has no
-- protocol row appear too (protocol_id null) so nothing loaded is invisible.
CREATE VIEW v_protocol_summary AS
WITH pool_stats AS (
  SELECT project,
         count(*) AS pool_count,
         sum(tvl_usd) AS pool_tvl_usd,
         avg(apy) AS avg_apy,
         sum(apy * tvl_usd) FILTER (WHERE apy IS NOT NULL AND tvl_usd > 0)
           / nullif(sum(tvl_usd) FILTER (WHERE apy IS NOT NULL AND tvl_usd > 0), 0) AS tvl_weighted_apy
  FROM pools WHERE is_active GROUP BY project
)
SELECT
  pr.id AS protocol_id,
  coalesce(pr.slug, ps.project) AS slug,
  pr.name,
  pr.category,
  pr.chains,
  pr.tvl,
  pr.mcap,
  coalesce(ps.pool_count, 0) AS pool_count,
  coalesce(ps.pool_tvl_usd, 0) AS pool_tvl_usd,
  ps.avg_apy,
  ps.tvl_weighted_apy,
  pr.is_active
FROM protocols pr
FULL JOIN pool_stats ps ON ps.project = pr.slug
ORDER BY pr.tvl DESC NULLS LAST, ps.pool_tvl_usd DESC NULLS LAST;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (1, 'initial', '4bc82cfaa1e20c45e332441ea2e3c195e8ef66d6ff1b589f670e02a518503966', false);

-- 0002_history_backfill.sql
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

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (2, 'history_backfill', '3f4fd319fc75cdb806b2a216e70582c19087bd7b5710899d3a8c595f956fa9a2', false);

-- 0003_current_state_views.sql
-- Current-state views with the effective "last seen" time. A sync run writes a row only when its
-- data changes (so unchanged rows get no new row version and updated_at means "the data changed");
-- an active row was therefore seen by the last successful run of its job, or by its own last
-- change if that is later. An inactive row keeps the time it was last seen, stored when the sync
-- deactivated it.

CREATE VIEW v_chains AS
SELECT
  c.name, c.chain_key, c.chain_id, c.gecko_id, c.token_symbol, c.cmc_id, c.tvl,
  c.is_active, c.first_seen_at,
  CASE WHEN c.is_active THEN greatest(c.last_seen_at, s.at) ELSE c.last_seen_at END AS last_seen_at,
  c.created_at, c.updated_at, c.raw
FROM chains c
CROSS JOIN (SELECT job_last_success('sync-chains') AS at) s;

CREATE VIEW v_protocols AS
SELECT
  p.id, p.slug, p.name, p.symbol, p.category, p.chain, p.chains, p.tvl,
  p.change_1h, p.change_1d, p.change_7d, p.mcap, p.parent_protocol, p.listed_at,
  p.address, p.gecko_id, p.cmc_id, p.url, p.chain_tvls, p.section_tvls,
  p.is_active, p.first_seen_at,
  CASE WHEN p.is_active THEN greatest(p.last_seen_at, s.at) ELSE p.last_seen_at END AS last_seen_at,
  p.created_at, p.updated_at, p.raw
FROM protocols p
CROSS JOIN (SELECT job_last_success('sync-protocols') AS at) s;

-- Pools with their protocol (by project = slug) and chain (by label). Pools whose project or
-- chain has no row are listed too, with nulls there.
CREATE VIEW v_pools AS
SELECT
  p.pool_id, p.chain, c.chain_key, c.chain_id, p.project, pr.id AS protocol_id, pr.name AS protocol_name,
  p.symbol, p.tvl_usd, p.apy, p.apy_base, p.apy_reward, p.apy_pct_1d, p.apy_pct_7d, p.apy_pct_30d,
  p.apy_mean_30d, p.apy_base_7d, p.apy_base_inception, p.il7d, p.stablecoin, p.il_risk, p.exposure,
  p.pool_meta, p.reward_tokens, p.underlying_tokens, p.volume_usd_1d, p.volume_usd_7d, p.predictions,
  p.mu, p.sigma, p.count, p.outlier,
  p.is_active, p.first_seen_at,
  CASE WHEN p.is_active THEN greatest(p.last_seen_at, s.at) ELSE p.last_seen_at END AS last_seen_at,
  p.created_at, p.updated_at, p.raw
FROM pools p
CROSS JOIN (SELECT job_last_success('sync-pools') AS at) s
LEFT JOIN chains c ON c.name = p.chain
LEFT JOIN LATERAL (
  SELECT pr1.id, pr1.name FROM protocols pr1 WHERE pr1.slug = p.project ORDER BY pr1.is_active DESC, pr1.id LIMIT 1
) pr ON true;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (3, 'current_state_views', '8d07b1b28856dfa07a1f52ca133f40a99f8f36cc207e312f705c06400a59c706', false);

-- 0004_contract_verifications.sql
-- On-chain verification results of EVM addresses (eth_getCode), so that a weekly re-check is
-- cheap: map-contracts asks an RPC node only about addresses never checked or checked longer ago
-- than its re-check window, and applies the cached verdict to every mapping of the address.
CREATE TABLE contract_verifications (
  chain_key   text        NOT NULL,           -- DeFiLlama chain key (ethereum, arbitrum, ...)
  address     text        NOT NULL,           -- lower-case 0x + 40 hex
  is_contract boolean     NOT NULL,           -- code at the address (an EIP-7702 delegation is not)
  code_size   integer     NOT NULL CHECK (code_size >= 0),
  method      text        NOT NULL,           -- how: "eth_getCode via RPC_URL_ETHEREUM", never the URL
  checked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_key, address)
);
CREATE INDEX contract_verifications_checked_idx ON contract_verifications (checked_at);

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (4, 'contract_verifications', '5de8524c9547e4147afe29d2613a413b79ec4aa743d2de945b0aa0740cfd61e4', false);

-- 0005_sync_hash.sql
-- A digest of the values a sync job last wrote to each current-state row. The next run reads
-- the digests of the active rows and sends only the records whose digest differs (with the keys
-- of the others), so an unchanged day costs little more than the download. It is only a filter:
-- the merge still compares the columns themselves, and a row is never written for the digest.
ALTER TABLE chains ADD COLUMN sync_hash bytea;
ALTER TABLE protocols ADD COLUMN sync_hash bytea;
ALTER TABLE pools ADD COLUMN sync_hash bytea;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (5, 'sync_hash', 'f764c05967ec6895dbae578019a681204d60c89c98c90662af498ab1a1d12928', false);

-- 0006_contract_mappings_sync_hash.sql
-- A digest of what map-contracts last wrote to each mapping (its sources, confidence before
-- verification, chain and family). The next run reads the digests of the active mappings and
-- sends only those that differ, so an unchanged day costs little more than building the
-- mappings. It is only a filter: the merge still compares the columns themselves.
ALTER TABLE contract_mappings ADD COLUMN sync_hash bytea;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (6, 'contract_mappings_sync_hash', 'aa3fd4a801afc20df624157bcb9a02d5c458bca2078a040393b796b3a35940bc', false);

-- 0007_drop_redundant_mapping_index.sql
-- contract_mappings_natural_key leads with pool_id, so it already serves every lookup by pool;
-- the separate pool_id index only cost time on each write and on map-contracts' first load.
DROP INDEX IF EXISTS contract_mappings_pool_idx;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (7, 'drop_redundant_mapping_index', '66a9f588ad307ddf4aac12179cb080f3f7ce76bc4ef4df02c239cbd6a90808c9', false);

-- 0008_contract_mapping_digests.sql
-- One digest per pool or protocol of the mappings map-contracts last wrote for it (its active
-- rows, in key order). A run reads one digest per owner instead of one per mapping, and sends
-- only the mappings of owners whose digest differs. It is only a filter: the merge still
-- compares the columns themselves. It replaces the per-mapping digest.
-- `mappings` is how many active mappings the digest covers: a run trusts the digests only when
-- they cover every active mapping, and otherwise looks for the owners without one.
CREATE TABLE contract_mapping_digests (
  owner_kind  text    NOT NULL CHECK (owner_kind IN ('pool', 'protocol')),
  owner_id    text    NOT NULL,
  digest      bytea   NOT NULL,
  mappings    integer NOT NULL CHECK (mappings > 0),
  PRIMARY KEY (owner_kind, owner_id)
);

ALTER TABLE contract_mappings DROP COLUMN sync_hash;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (8, 'contract_mapping_digests', 'fc0116fc4d80d24b8ddd99d37421ada12d7cec6f598003c9282fdeb6dbf0963d', false);

-- 0009_token_metadata.sql
-- ERC-20 metadata of mapped EVM tokens, from Moralis (map-contracts, when MORALIS_API_KEY is set).
-- A row is refreshed once it is older than map-contracts' re-check window. A row with decimals is
-- an answer from the token contract: mappings of the address without an RPC verdict count it as
-- on-chain evidence (confidence 1.0, verification_method naming Moralis).
CREATE TABLE token_metadata (
  chain_key         text        NOT NULL,           -- DeFiLlama chain key (ethereum, arbitrum, ...)
  address           text        NOT NULL,           -- lower-case 0x + 40 hex
  name              text,
  symbol            text,
  decimals          smallint    CHECK (decimals BETWEEN 0 AND 255),
  possible_spam     boolean,
  verified_contract boolean,
  source            text        NOT NULL,           -- where the row came from: 'moralis'
  fetched_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chain_key, address)
);

-- The top pools' contracts carry the token symbol where it is known (null otherwise).
CREATE OR REPLACE VIEW v_top_pools_with_contracts AS
SELECT
  p.pool_id,
  p.chain,
  p.project,
  pr.name AS protocol_name,
  p.symbol,
  p.tvl_usd,
  p.apy,
  p.pool_meta,
  coalesce(m.contracts, '[]'::jsonb) AS contracts,
  coalesce(m.contract_count, 0) AS contract_count,
  m.best_confidence
FROM pools p
LEFT JOIN LATERAL (
  SELECT pr1.name FROM protocols pr1 WHERE pr1.slug = p.project ORDER BY pr1.is_active DESC, pr1.id LIMIT 1
) pr ON true
LEFT JOIN LATERAL (
  SELECT jsonb_agg(jsonb_build_object(
           'address', cm.address_display, 'type', cm.contract_type,
           'confidence', cm.confidence, 'chain_id', cm.evm_chain_id, 'family', cm.address_family,
           'symbol', tm.symbol)
         ORDER BY cm.confidence DESC, cm.contract_type, cm.address) AS contracts,
         count(*) AS contract_count,
         max(cm.confidence) AS best_confidence
  FROM contract_mappings cm
  LEFT JOIN token_metadata tm ON tm.chain_key = cm.chain_key AND tm.address = cm.address
  WHERE cm.pool_id = p.pool_id AND cm.is_active AND cm.is_contract IS NOT FALSE
) m ON true
WHERE p.is_active
ORDER BY p.tvl_usd DESC NULLS LAST;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (9, 'token_metadata', '74cc31c7aa12e48cc2bf865aba07b402f219c7e66b8c995374e36111f5394ce0', false);

-- 0010_hot_daily_updates.sql
-- backward-compatible: true
-- Nearly every pool's and protocol's TVL changes every day. An index on TVL (or on any column
-- in its WHERE) makes each daily update write a new entry into every index of the table; without
-- one, and with room left on each page, the update stays on its page (a HOT update) and writes no
-- index entry at all. The top-N queries ordered by TVL read a few thousand or tens of thousands
-- of rows and sort them in memory: a few milliseconds without the index.
DROP INDEX IF EXISTS pools_tvl_idx;
DROP INDEX IF EXISTS protocols_tvl_idx;
ALTER TABLE pools SET (fillfactor = 50);
ALTER TABLE protocols SET (fillfactor = 50);

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (10, 'hot_daily_updates', '1d01c3eda7e68276e923d5129035cb1bb1e330c55245c062dbb6492b6748f010', true);

-- 0011_drop_sync_hash.sql
-- The sync jobs no longer keep a digest of each current-state row (0005): nearly every row
-- changes daily, so reading and hashing the digests cost the nightly run more than they saved,
-- and the merge already compares the columns, so an unchanged rerun still writes no row.
-- Not backward-compatible: an older build writes sync_hash.
ALTER TABLE chains DROP COLUMN sync_hash;
ALTER TABLE protocols DROP COLUMN sync_hash;
ALTER TABLE pools DROP COLUMN sync_hash;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (11, 'drop_sync_hash', '28dfa399cf70a1455a1e331e1ab312e2f6bca07b027ad57f4d2dd327c98c0506', false);

-- 0012_drop_contract_mapping_digests.sql
-- map-contracts no longer keeps a digest per owner (0008): it compares each row it builds with
-- the stored row, read while its inputs download, so a row whose sources were edited by hand is
-- corrected on the next run and nothing has to be kept in step with what the rows hold.
-- Not backward-compatible: an older build writes contract_mapping_digests.
DROP TABLE contract_mapping_digests;

INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (12, 'drop_contract_mapping_digests', '3192dbd3f697b78b686f97a6552d0a655e9468b893913c81a7d788bd064946f7', false);

COMMIT;
