-- The sync jobs no longer keep a digest of each current-state row (0005): nearly every row
-- changes daily, so reading and hashing the digests cost the nightly run more than they saved,
-- and the merge already compares the columns, so an unchanged rerun still writes no row.
-- Not backward-compatible: an older build writes sync_hash.
ALTER TABLE chains DROP COLUMN sync_hash;
ALTER TABLE protocols DROP COLUMN sync_hash;
ALTER TABLE pools DROP COLUMN sync_hash;
