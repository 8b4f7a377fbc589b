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
