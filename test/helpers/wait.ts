/**
 * Polls `probe` until `done` holds for its value, and returns that value; fails after
 * `timeoutMs` with the last value seen. Tests wait for a condition, never for a guessed time.
 */
export async function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, options: { timeoutMs?: number; what?: string } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${options.what ?? 'condition'} still not met after ${timeoutMs} ms (last: ${JSON.stringify(value)?.slice(0, 300)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
