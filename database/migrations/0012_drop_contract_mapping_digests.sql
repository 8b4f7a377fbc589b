-- map-contracts no longer keeps a digest per owner (0008): it compares each row it builds with
-- the stored row, read while its inputs download, so a row whose sources were edited by hand is
-- corrected on the next run and nothing has to be kept in step with what the rows hold.
-- Not backward-compatible: an older build writes contract_mapping_digests.
DROP TABLE contract_mapping_digests;
