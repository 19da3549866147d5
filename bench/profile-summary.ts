/**
 * Summarises a V8 CPU profile (`--cpu-prof`, e.g. from `npm run bench -- --cpu-prof`, written
 * to bench/results/): the functions with the most self time, and self time by package (a
 * dependency under node_modules, the app's own src/ files, or Node's internals), so a profile
 * reads as a table in a note instead of needing a flame-graph viewer.
 *
 *   node bench/profile-summary.ts <file.cpuprofile> [--top 30]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly microseconds: number;
  readonly share: number;
}

/** Where a frame's code lives: a package name, `app:<file>` for src/, or `node`/`(v8)` for the runtime. */
export function ownerOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = url.lastIndexOf('/node_modules/');
  if (inModules >= 0) {
    const parts = url.slice(inModules + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const inSources = url.indexOf('/src/');
  if (inSources >= 0) return `app:${url.slice(inSources + 1)}`;
  if (url.startsWith('node:')) return 'node';
  return url;
}

function label(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${ownerOf(frame)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

/** Self time per sampled node, in microseconds (each sample's delta is charged to its node). */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const times = new Map<number, number>();
  profile.samples.forEach((nodeId, index) => {
    times.set(nodeId, (times.get(nodeId) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  return times;
}

function ranked(totals: Map<string, number>, total: number, top: number): SelfTime[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, microseconds]) => ({ name, microseconds, share: microseconds / total }));
}

/** The top functions and owners by self time; `(idle)` is left out of the shares. */
export function summarise(profile: CpuProfile, top: number): { busyMs: number; functions: SelfTime[]; owners: SelfTime[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const owners = new Map<string, number>();
  let busy = 0;
  for (const [nodeId, microseconds] of selfTimes(profile)) {
    const frame = byId.get(nodeId)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += microseconds;
    functions.set(label(frame), (functions.get(label(frame)) ?? 0) + microseconds);
    owners.set(ownerOf(frame), (owners.get(ownerOf(frame)) ?? 0) + microseconds);
  }
  return { busyMs: busy / 1000, functions: ranked(functions, busy, top), owners: ranked(owners, busy, top) };
}

function table(rows: readonly SelfTime[]): string {
  const lines = ['| self ms | share | function |', '| ---: | ---: | --- |'];
  for (const row of rows) lines.push(`| ${(row.microseconds / 1000).toFixed(0)} | ${(row.share * 100).toFixed(1)}% | ${row.name.replaceAll('|', '\\|')} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
  const [file] = positionals;
  if (file === undefined) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile> [--top 30]');
  const summary = summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(values.top));
  console.log(`busy (not idle) CPU time: ${summary.busyMs.toFixed(0)} ms\n`);
  console.log(`### Self time by package\n\n${table(summary.owners)}\n`);
  console.log(`### Functions with the most self time\n\n${table(summary.functions)}`);
}
