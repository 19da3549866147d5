import { describe, expect, it } from 'vitest';
import { onFirstUse } from './on-first-use.ts';

describe('onFirstUse', () => {
  it('loads once, however many callers ask before or after the load finishes', async () => {
    let loads = 0;
    const module = onFirstUse(() => Promise.resolve({ id: ++loads }));

    const [first, second] = await Promise.all([module(), module()]);
    const third = await module();

    expect(loads).toBe(1);
    expect(first).toBe(second);
    expect(third).toBe(first);
  });

  it('tries again after a failed load instead of keeping the failure', async () => {
    let attempts = 0;
    const module = onFirstUse(() => {
      attempts += 1;
      return attempts === 1 ? Promise.reject(new Error('not yet')) : Promise.resolve('loaded');
    });

    await expect(module()).rejects.toThrow('not yet');
    await expect(module()).resolves.toBe('loaded');
    expect(attempts).toBe(2);
  });
});
