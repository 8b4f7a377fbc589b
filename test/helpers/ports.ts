/** Loopback ports for tests of refused connections. */
import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that this test just listened on and closed: a connection to it is refused
 * (unlike a fixed port, which something on the machine may serve).
 */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
