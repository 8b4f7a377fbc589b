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
