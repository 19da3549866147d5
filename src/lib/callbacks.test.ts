import { describe, expect, it } from 'vitest';
import { settle } from './callbacks.ts';

describe('settle', () => {
  it('passes the value, then the error the continuation threw, back to the callback', async () => {
    const calls: unknown[][] = [];
    const unreported: unknown[] = [];

    settle(Promise.resolve(42), (...args) => {
      calls.push(args);
      if (args[0] === null) throw new Error('writing the response failed');
    }, (error) => unreported.push(error));
    await new Promise((resolve) => setImmediate(resolve));

    expect(calls).toEqual([[null, 42], [new Error('writing the response failed')]]);
    expect(unreported).toEqual([]);
  });

  it('passes a rejection to the callback as an Error', async () => {
    const calls: unknown[][] = [];

    settle(Promise.reject(new Error('no database')), (...args) => calls.push(args), () => undefined);
    await new Promise((resolve) => setImmediate(resolve));

    expect(calls).toEqual([[new Error('no database')]]);
  });

  it('hands an error the callback throws twice to onUnreported instead of rejecting', async () => {
    const unreported: unknown[] = [];

    settle(Promise.resolve('x'), () => {
      throw new Error('always');
    }, (error) => unreported.push(error));
    await new Promise((resolve) => setImmediate(resolve));

    expect(unreported).toEqual([new Error('always')]);
  });
});
