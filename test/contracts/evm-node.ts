/**
 * A real local EVM node (ganache, in process) on loopback, for on-chain verification tests.
 * ganache's own HTTP server needs a native uWebSockets build that exists for Node 20 but not 24,
 * so its in-process provider is served over node:http instead (JSON-RPC, batches included).
 */
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

const require = createRequire(import.meta.url);

interface Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  disconnect(): Promise<void>;
}

type RpcRequest = { jsonrpc: '2.0'; id: number | string | null; method: string; params?: unknown[] };

async function answer(provider: Provider, req: RpcRequest) {
  try {
    return { jsonrpc: '2.0', id: req.id, result: await provider.request({ method: req.method, params: req.params ?? [] }) };
  } catch (error) {
    return { jsonrpc: '2.0', id: req.id, error: { code: -32000, message: (error as Error).message } };
  }
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
  const ganache = require('ganache') as { provider(options: unknown): Provider };
  const provider = ganache.provider({ logging: { quiet: true }, wallet: { deterministic: true, totalAccounts: 3 }, chain: { chainId } });
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      void (async () => {
        const parsed = JSON.parse(body) as RpcRequest | RpcRequest[];
        const result = Array.isArray(parsed) ? await Promise.all(parsed.map((r) => answer(provider, r))) : await answer(provider, parsed);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.disconnect();
    },
  };
}
