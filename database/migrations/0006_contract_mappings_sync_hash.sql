-- A digest of what map-contracts last wrote to each mapping (its sources, confidence before
-- verification, chain and family). The next run reads the digests of the active mappings and
-- sends only those that differ, so an unchanged day costs little more than building the
-- mappings. It is only a filter: the merge still compares the columns themselves.
ALTER TABLE contract_mappings ADD COLUMN sync_hash bytea;
