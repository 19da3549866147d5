import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { type IdleCollection, type IdleGcState, shouldCollect, startIdleGc } from './idle-gc.ts';

const MIB = 1024 * 1024;
const policy = { growthBytes: 8 * MIB, minMsBetweenCollections: 10_000 };
const grownAndQuiet: IdleGcState = { utilization: 0.01, heapBytes: 60 * MIB, heapFloorBytes: 25 * MIB, msSinceLastCollection: 60_000 };

describe('shouldCollect', () => {
  it('collects a heap that grew past the threshold once the loop is quiet', () => {
    expect(shouldCollect(grownAndQuiet, policy)).toBe(true);
  });

  it.each([
    ['the loop is busy', { utilization: 0.3 }],
    ['the heap grew less than the threshold', { heapBytes: 30 * MIB }],
    ['the last collection was too recent', { msSinceLastCollection: 2_000 }],
  ])('waits while %s', (_, change) => {
    expect(shouldCollect({ ...grownAndQuiet, ...change }, policy)).toBe(false);
  });

  it('never collects with a threshold of 0', () => {
    expect(shouldCollect(grownAndQuiet, { ...policy, growthBytes: 0 })).toBe(false);
  });
});

/** Objects that live across many scavenges, so V8 promotes them to the old generation. */
async function growOldGeneration(bytes: number): Promise<void> {
  const kept: unknown[] = [];
  const perTurn = 64;
  for (let size = 0; size < bytes; size += perTurn * 16 * 1024) {
    for (let index = 0; index < perTurn; index += 1) kept.push(new Array<number>(2048).fill(index));
    await new Promise((resolve) => setImmediate(resolve));
  }
  expect(kept.length).toBeGreaterThan(0);
}

describe('startIdleGc', () => {
  it('gives back the heap a burst left behind once the loop falls quiet, and only then', async () => {
    const collections: (IdleCollection & { at: number })[] = [];
    const stop = startIdleGc({ growthBytes: 16 * MIB, checkIntervalMs: 50, minMsBetweenCollections: 0, onCollected: (c) => collections.push({ ...c, at: performance.now() }) });
    try {
      await new Promise((resolve) => setTimeout(resolve, 120));
      const growingFrom = performance.now();
      await growOldGeneration(64 * MIB);
      const grown = getHeapStatistics().total_heap_size;
      expect(collections.filter((collection) => collection.at > growingFrom)).toEqual([]);
      collections.length = 0;

      await expect.poll(() => collections.length, { timeout: 5_000, interval: 50 }).toBeGreaterThan(0);
      const [collection] = collections;
      expect(collection?.heapBeforeBytes).toBeGreaterThanOrEqual(grown - 8 * MIB);
      expect(collection?.heapAfterBytes).toBeLessThan((collection?.heapBeforeBytes ?? 0) - 32 * MIB);
    } finally {
      stop();
    }
  });

  it('does nothing with a threshold of 0', async () => {
    const collections: IdleCollection[] = [];
    const stop = startIdleGc({ growthBytes: 0, checkIntervalMs: 20, minMsBetweenCollections: 0, onCollected: (c) => collections.push(c) });
    await growOldGeneration(32 * MIB);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop();
    expect(collections).toEqual([]);
  });
});
