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
