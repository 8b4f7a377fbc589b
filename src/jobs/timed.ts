export async function timed<T>(timings: Record<string, number>, phase: string, fn: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  timings[phase] = Math.round(performance.now() - started);
  return result;
}
