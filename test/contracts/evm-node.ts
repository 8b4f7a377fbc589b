/** A real local EVM node (ganache, in process) on loopback, for on-chain verification tests. */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

interface GanacheServer {
  listen(port: number, host: string): Promise<void>;
  address(): AddressInfo;
  close(): Promise<void>;
}

export interface EvmNode {
  readonly url: string;
  readonly accounts: readonly string[];
  rpc<T>(method: string, params: unknown[]): Promise<T>;
  /** Deploys runtime code with a raw creation transaction; returns the contract address. */
  deploy(runtimeHex: string): Promise<string>;
  close(): Promise<void>;
}

export async function startEvmNode(chainId: number): Promise<EvmNode> {
  const ganache = require('ganache') as { server(options: unknown): GanacheServer };
  const server = ganache.server({ logging: { quiet: true }, wallet: { deterministic: true, totalAccounts: 3 }, chain: { chainId } });
  await server.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${server.address().port}`;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[]): Promise<T> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }) });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const accounts = await rpc<string[]>('eth_accounts', []);
  return {
    url,
    accounts,
    rpc,
    async deploy(runtimeHex) {
      const runtime = runtimeHex.replace(/^0x/, '');
      const size = runtime.length / 2;
      if (size > 0xff) throw new Error('runtime code over 255 bytes: extend the init code');
      const b = size.toString(16).padStart(2, '0');
      // CODECOPY the runtime that follows this 12-byte init code, then RETURN it.
      const init = `0x60${b}600c60003960${b}6000f3${runtime}`;
      const tx = await rpc<string>('eth_sendTransaction', [{ from: accounts[0], data: init, gas: '0x100000' }]);
      const receipt = await rpc<{ contractAddress: string; status: string }>('eth_getTransactionReceipt', [tx]);
      if (receipt.status !== '0x1') throw new Error('deployment failed');
      return receipt.contractAddress;
    },
    close: () => server.close(),
  };
}
