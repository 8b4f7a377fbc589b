/**
 * Worker thread entry of background-checksums.ts: finds the EVM addresses in each list of values
 * it is sent and answers with their EIP-55 forms, in small batches so that the main thread can
 * use them while later ones are still being hashed.
 */
import { parentPort } from 'node:worker_threads';
import { eip55 } from './evm-display.js';

const EVM_ADDRESS = /0x[0-9a-fA-F]{40}(?![0-9a-fA-F])/g;
const BATCH = 2048;
const seen = new Set<string>();

parentPort?.on('message', (message: { id: number; text: string }) => {
  let addresses: string[] = [];
  let forms: string[] = [];
  const flush = () => {
    if (addresses.length > 0) parentPort!.postMessage({ addresses, forms });
    addresses = [];
    forms = [];
  };
  for (const match of message.text.matchAll(EVM_ADDRESS)) {
    const address = match[0].toLowerCase();
    if (seen.has(address)) continue;
    seen.add(address);
    addresses.push(address);
    forms.push(eip55(address));
    if (addresses.length >= BATCH) flush();
  }
  flush();
  parentPort!.postMessage({ done: message.id });
});
