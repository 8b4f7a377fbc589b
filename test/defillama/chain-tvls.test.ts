import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitChainTvls } from '../../src/defillama/chain-tvls.js';

test('liquid-staking and double-counting keys are sections, not chains; chain labels with dashes stay chains', () => {
  const { chainTvls, sectionTvls } = splitChainTvls({
    Ethereum: 10, 'Ethereum-doublecounted': 4, doublecounted: 4, liquidstaking: 7, 'Ethereum-liquidstaking': 7,
    dcAndLsOverlap: 2, 'Ethereum-dcAndLsOverlap': 2, 'terra-classic': 3, 'zkSync Era': 5, 'zkSync Era-staking': 1,
  });
  assert.deepEqual(chainTvls, { Ethereum: 10, 'terra-classic': 3, 'zkSync Era': 5 });
  assert.deepEqual(sectionTvls, {
    doublecounted: { Ethereum: 4, total: 4 },
    liquidstaking: { total: 7, Ethereum: 7 },
    dcAndLsOverlap: { total: 2, Ethereum: 2 },
    staking: { 'zkSync Era': 1 },
  });
});
