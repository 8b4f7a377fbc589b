-- contract_mappings_natural_key leads with pool_id, so it already serves every lookup by pool;
-- the separate pool_id index only cost time on each write and on map-contracts' first load.
DROP INDEX IF EXISTS contract_mappings_pool_idx;
