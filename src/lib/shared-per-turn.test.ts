import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { sharedPerTurn } from './shared-per-turn.ts';

describe('sharedPerTurn', () => {
  it('reads once for every caller of one turn, after the last of them asked', async () => {
    let source = 1;
    let reads = 0;
    const version = sharedPerTurn(() => {
      reads += 1;
      return source;
    });

    const first = version();
    // A commit between two callers of the same turn: the shared read must see it.
    source = 2;
    const second = version();

    expect(await Promise.all([first, second])).toEqual([2, 2]);
    expect(reads).toBe(1);
  });

  it('reads again for a caller that asks once the read has started', async () => {
    let reads = 0;
    let release: (value: number) => void = () => undefined;
    const version = sharedPerTurn(() => {
      reads += 1;
      return new Promise<number>((resolve) => (release = resolve));
    });

    const first = version();
    await new Promise((resolve) => setImmediate(resolve));
    // The first read is in flight (a PostgreSQL round trip, say): it may predate this caller's request.
    const second = version();
    expect(second).not.toBe(first);
    release(1);
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    release(2);

    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(reads).toBe(2);
  });

  it('fails every caller of the turn when the read throws, and reads afresh after', async () => {
    let fail = true;
    const version = sharedPerTurn(() => {
      if (fail) throw new Error('database is locked');
      return 'v1';
    });

    const results = await Promise.allSettled([version(), version()]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await version()).toBe('v1');
  });

  it('answers each request of a real server with a read made after it arrived', async () => {
    let source = 0;
    const version = sharedPerTurn(() => source);
    // Each request bumps the source when it arrives, as a commit acknowledged just before it would;
    // its answer must carry a version at least as new as its own arrival.
    const server = createServer((_request, response) => {
      const arrival = ++source;
      void version().then((seen) => response.end(JSON.stringify({ arrival, seen })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answers = await Promise.all(
        Array.from({ length: 40 }, async () => (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { arrival: number; seen: number }),
      );
      for (const answer of answers) expect(answer.seen).toBeGreaterThanOrEqual(answer.arrival);
    } finally {
      server.close();
    }
  });
});
