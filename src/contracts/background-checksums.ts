/**
 * EIP-55 forms computed on a worker thread while the main thread downloads /poolsOld, builds the
 * mappings and streams them to PostgreSQL. On a first run every EVM address needs its form, and
 * keccak in JavaScript (~15 µs an address) would otherwise be the largest single cost of the
 * write. Best effort: a form the worker has not delivered is computed by the writer itself, so a
 * failed worker only costs time.
 */
import { Worker } from 'node:worker_threads';

export class BackgroundChecksums {
  /** Forms delivered so far, by lower-case address; grows while the worker runs. */
  readonly forms = new Map<string, string>();
  private readonly worker: Worker | undefined;
  /** False once the worker has failed, exited or been closed: nothing more is sent to it. */
  private alive = false;
  private readonly waiting = new Map<number, () => void>();
  private readonly pending: Promise<void>[] = [];
  private nextId = 0;

  constructor() {
    try {
      // Run from the TypeScript sources (tsx, no build) there is no such file: the worker fails
      // at once and the writer computes every form itself.
      this.worker = new Worker(new URL('./checksum-worker.js', import.meta.url));
      // Never the reason a finished (or cancelled) job's process stays alive.
      this.worker.unref();
      this.worker.on('message', (m: { addresses: string[]; forms: string[] } | { done: number }) => {
        if ('done' in m) return this.settle(m.done);
        for (let i = 0; i < m.addresses.length; i++) this.forms.set(m.addresses[i]!, m.forms[i]!);
      });
      this.worker.on('error', () => this.stop());
      this.worker.on('exit', () => this.stop());
      this.alive = true;
    } catch {
      this.worker = undefined;
    }
  }

  /**
   * Queues the EVM addresses found in this text (token lists, pool keys, free text, one value a
   * line: a newline is no part of an address). One string crosses to the worker far cheaper than
   * an array of 100,000 small ones.
   */
  add(text: string): void {
    if (!this.alive || text.length === 0) return;
    const id = this.nextId++;
    this.pending.push(new Promise((resolve) => this.waiting.set(id, resolve)));
    this.worker!.postMessage({ id, text });
  }

  /** Resolves once every queued value has been answered (or the worker has failed): for a caller that needs them all. */
  async done(): Promise<void> {
    await Promise.all(this.pending);
  }

  async close(): Promise<void> {
    this.stop();
    await this.worker?.terminate();
  }

  private settle(id: number): void {
    this.waiting.get(id)?.();
    this.waiting.delete(id);
  }

  /** No more answers will come: whoever waits goes on without them. */
  private stop(): void {
    this.alive = false;
    for (const id of [...this.waiting.keys()]) this.settle(id);
  }
}
