import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A full, memory-reducing garbage collection once the server falls quiet after its heap grew.
 *
 * Under load the young generation is small (heap-settings.ts), so requests still in flight are
 * promoted to the old generation and die there; V8 lets the old generation fill to a limit set
 * from the live size, and keeps the pages it freed in a pool for reuse. After the bench's read
 * load the process held 70-100 MiB of anonymous memory for 23 MiB of live objects, and V8's own
 * memory reducer gave none of it back within 30 s. One "last resort" collection (the one V8 runs
 * before giving up on an allocation: it compacts, and releases the pooled pages) once the event
 * loop has gone quiet brings that to about 50 MiB, for 35-70 ms of a loop with nothing else to
 * do (bench/README.md, "Start-up and memory").
 */

export interface IdleGcOptions {
  /** Collect when the committed heap has grown this much since the last collection (0: never). */
  readonly growthBytes: number;
  /** How often the loop's utilisation and the heap are read. */
  readonly checkIntervalMs?: number;
  /** Collections at most this often, so a server busy in short bursts does not collect between each. */
  readonly minMsBetweenCollections?: number;
  /** Called after each collection, with the committed heap before and after and its duration. */
  readonly onCollected?: (collection: IdleCollection) => void;
  /** Called instead of watching when V8 will not hand out gc() (e.g. under --expose-gc-as). */
  readonly onUnavailable?: (error: unknown) => void;
}

export interface IdleCollection {
  readonly heapBeforeBytes: number;
  readonly heapAfterBytes: number;
  readonly durationMs: number;
}

export interface IdleGcState {
  /** Share of the last interval the event loop spent running code, 0 to 1. */
  readonly utilization: number;
  readonly heapBytes: number;
  /** The smallest committed heap seen since the last collection (0 before the first: start-up grew it from nothing). */
  readonly heapFloorBytes: number;
  readonly msSinceLastCollection: number;
}

/** Below this share of busy time an interval counts as quiet: health probes and scrapes stay under 1 %. */
export const QUIET_UTILIZATION = 0.05;
const DEFAULT_CHECK_INTERVAL_MS = 1_000;
const DEFAULT_MS_BETWEEN_COLLECTIONS = 10_000;

export function shouldCollect(state: IdleGcState, policy: { growthBytes: number; minMsBetweenCollections: number }): boolean {
  return (
    policy.growthBytes > 0 &&
    state.utilization < QUIET_UTILIZATION &&
    state.heapBytes - state.heapFloorBytes >= policy.growthBytes &&
    state.msSinceLastCollection >= policy.minMsBetweenCollections
  );
}

type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/**
 * V8's gc(): the one given to the process with --expose-gc, else one taken from a context made
 * while the flag is on (the flag goes off again, so no other context gets it).
 */
function v8Gc(): GcFunction {
  const exposed = (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposed === 'function') return exposed;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as GcFunction;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** Starts watching; returns the function that stops it. The timer never keeps the process up. */
export function startIdleGc(options: IdleGcOptions): () => void {
  if (options.growthBytes <= 0) return () => {};
  let gc: GcFunction;
  try {
    gc = v8Gc();
  } catch (error) {
    options.onUnavailable?.(error);
    return () => {};
  }
  const policy = { growthBytes: options.growthBytes, minMsBetweenCollections: options.minMsBetweenCollections ?? DEFAULT_MS_BETWEEN_COLLECTIONS };
  let lastLoop = performance.eventLoopUtilization();
  let heapFloorBytes = 0;
  let lastCollectionAt = Number.NEGATIVE_INFINITY;

  const timer = setInterval(() => {
    const loop = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(loop, lastLoop).utilization;
    lastLoop = loop;
    const heapBytes = getHeapStatistics().total_heap_size;
    heapFloorBytes = Math.min(heapFloorBytes, heapBytes);
    const state = { utilization, heapBytes, heapFloorBytes, msSinceLastCollection: performance.now() - lastCollectionAt };
    if (!shouldCollect(state, policy)) return;

    const startedAt = performance.now();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const heapAfterBytes = getHeapStatistics().total_heap_size;
    lastCollectionAt = performance.now();
    heapFloorBytes = heapAfterBytes;
    options.onCollected?.({ heapBeforeBytes: heapBytes, heapAfterBytes, durationMs: lastCollectionAt - startedAt });
  }, options.checkIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
