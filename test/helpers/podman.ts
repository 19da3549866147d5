import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const IMAGE = process.env.SHIPSHAPE_IMAGE ?? 'localhost/shipshape:test';

/**
 * Flags every `podman run` needs on this kind of machine (../shared/recipes/containers.md):
 * runc rather than the default crun, and explicit ulimits. Harmless elsewhere.
 */
const RUNTIME_FLAGS = [
  ...(existsSync('/usr/sbin/runc') ? ['--runtime', '/usr/sbin/runc'] : []),
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=1024:1024',
];

/** What production asks of the container: read-only root, only /tmp writable, no capabilities. */
export const HARDENED_FLAGS = ['--read-only', '--tmpfs', '/tmp', '--cap-drop=ALL', '--security-opt', 'no-new-privileges'];

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `podman ...args` and resolves with its exit code and output, whatever the code. */
export function podman(args: string[], timeoutMs = 120_000): Promise<PodmanResult> {
  return new Promise((resolve) => {
    execFile('podman', args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like podman(), but a non-zero exit is an error carrying podman's stderr. */
export async function podmanOk(args: string[], timeoutMs?: number): Promise<string> {
  const result = await podman(args, timeoutMs);
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

export interface ContainerOptions {
  name: string;
  env: Record<string, string>;
  /** Extra `podman run` flags (ports, mounts, network). */
  flags?: string[];
  /** Command instead of the image's CMD. */
  command?: string[];
}

function envFlags(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
}

/** Starts a detached, hardened container; removes any leftover of the same name first. */
export async function startContainer(options: ContainerOptions): Promise<void> {
  await podman(['rm', '-f', '-t', '0', options.name]);
  await podmanOk([
    'run',
    '-d',
    '--name',
    options.name,
    ...RUNTIME_FLAGS,
    ...HARDENED_FLAGS,
    ...envFlags(options.env),
    ...(options.flags ?? []),
    IMAGE,
    ...(options.command ?? []),
  ]);
}

/** Runs a hardened one-off container to completion (`--rm`) and returns its exit code and output. */
export function runContainer(options: Omit<ContainerOptions, 'name'>): Promise<PodmanResult> {
  return podman(['run', '--rm', ...RUNTIME_FLAGS, ...HARDENED_FLAGS, ...envFlags(options.env), ...(options.flags ?? []), IMAGE, ...(options.command ?? [])]);
}

export async function removeContainer(name: string): Promise<void> {
  await podman(['rm', '-f', '-t', '0', name]);
}

/** The container's combined stdout and stderr so far. */
export async function containerLogs(name: string): Promise<string> {
  const result = await podman(['logs', name]);
  return result.stdout + result.stderr;
}

/** Fields of /proc/1/status inside the container: Uid, CapEff, NoNewPrivs, VmRSS... */
export async function initProcessStatus(name: string): Promise<Record<string, string>> {
  const status = await podmanOk(['exec', name, 'cat', '/proc/1/status']);
  return Object.fromEntries(
    status
      .split('\n')
      .filter((line) => line.includes(':'))
      .map((line) => {
        const [key = '', ...rest] = line.split(':');
        return [key.trim(), rest.join(':').trim()];
      }),
  );
}
