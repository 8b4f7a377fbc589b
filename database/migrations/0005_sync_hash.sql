-- A digest of the values a sync job last wrote to each current-state row. The next run reads
-- the digests of the active rows and sends only the records whose digest differs (with the keys
-- of the others), so an unchanged day costs little more than the download. It is only a filter:
-- the merge still compares the columns themselves, and a row is never written for the digest.
ALTER TABLE chains ADD COLUMN sync_hash bytea;
ALTER TABLE protocols ADD COLUMN sync_hash bytea;
ALTER TABLE pools ADD COLUMN sync_hash bytea;
