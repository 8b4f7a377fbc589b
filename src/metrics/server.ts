/** The scheduler's HTTP endpoints: /metrics (Prometheus text format) and /healthz (JSON). */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError, errorMessage } from '../errors.js';

export interface Health {
  /** 503 when false (starting, stopping). */
  readonly ok: boolean;
  readonly body: Record<string, unknown>;
}

export interface MetricsServerOptions {
  readonly port: number;
  /** Default: every interface, so Prometheus and `docker run -p` can reach it. */
  readonly host?: string;
  readonly registry: Registry;
  readonly health: () => Health;
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${errorMessage(error)}\n`),
      );
    } else if (path === '/healthz') {
      const h = options.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(h.body));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  // Scrapes are short: do not let an idle keep-alive connection delay shutdown.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new ConfigError(`port ${options.port} for /metrics and /healthz is already in use: set another with METRICS_PORT or --metrics-port, or leave METRICS_PORT empty for none`));
      else if (error.code === 'EACCES') reject(new ConfigError(`not allowed to listen on port ${options.port} for /metrics and /healthz: choose a port above 1023 (METRICS_PORT or --metrics-port)`));
      else reject(error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
