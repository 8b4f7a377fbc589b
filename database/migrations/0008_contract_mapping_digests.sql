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
