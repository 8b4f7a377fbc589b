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
