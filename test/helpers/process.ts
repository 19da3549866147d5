import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

export interface StartOptions {
  /** A file descriptor for the process's stdout and stderr instead of capturing them. */
  stdout?: number;
  /** Extra Node.js flags, e.g. --cpu-prof. */
  nodeOptions?: string[];
}

/**
 * Starts `node <script> ...args` (script relative to the repository root) with exactly the
 * given environment, from a neutral directory so a developer's own .env cannot leak in.
 */
export function startNode(script: string, args: string[], env: Record<string, string>, options: StartOptions = {}): RunningProcess {
  return startProcess(process.execPath, [...(options.nodeOptions ?? []), join(ROOT, script), ...args], env, options);
}

/** Starts any program (e.g. HAProxy) the way startNode starts Node: given environment, neutral directory. */
export function startProcess(command: string, args: string[], env: Record<string, string>, options: Pick<StartOptions, 'stdout'> = {}): RunningProcess {
  const child = spawn(command, args, {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', options.stdout ?? 'pipe', options.stdout ?? 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export async function runNode(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const running = startNode(script, args, env);
  const code = await running.exited;
  return { code, output: running.output() };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The environment a production server needs: NODE_ENV and freshly generated secrets. */
export function productionEnv(): Record<string, string> {
  return {
    NODE_ENV: 'production',
    JWT_SECRET: randomBytes(32).toString('hex'),
    SESSION_SECRET: randomBytes(32).toString('hex'),
  };
}

/**
 * Polls a URL until it answers with `status`, or fails after `timeoutMs`. Given the server
 * process, fails at once when it exits, with what it printed, instead of waiting out the clock.
 */
export async function waitFor(url: string, status = 200, timeoutMs = 20_000, server?: RunningProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void server?.exited.then((code) => (exitCode = code));
  for (;;) {
    if (server && exitCode !== undefined) throw new Error(`the server exited with ${exitCode} before ${url} answered ${status}:\n${server.output()}`);
    try {
      const response = await fetch(url);
      if (response.status === status) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export interface TestServer {
  readonly baseUrl: string;
  readonly process: RunningProcess;
  readonly env: Record<string, string>;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, wait for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

export interface TestServerOptions {
  /** The entry point: the TypeScript sources by default, `dist/server.js` for the built app. */
  script?: string;
  /** Listen on this port (a replacement taking its predecessor's place) instead of a free one. */
  port?: number;
}

/**
 * The real server process (`src/server.ts`) on a free loopback port, ready to serve, with the
 * environment given (a test's storage, secrets, limits).
 */
export async function startTestServer(env: Record<string, string>, options: TestServerOptions = {}): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  const fullEnv = { NODE_ENV: 'test', SHUTDOWN_DELAY_SECONDS: '0', MIGRATE_ON_START: 'true', ...env, PORT: String(port) };
  const running = startNode(options.script ?? 'src/server.ts', [], fullEnv);
  let exitCode: number | null | undefined;
  void running.exited.then((code) => (exitCode = code));
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${baseUrl}/readyz`, 200, 30_000, running);
  } catch (error) {
    running.child.kill('SIGKILL');
    throw error;
  }
  return {
    baseUrl,
    process: running,
    env: fullEnv,
    alive: () => exitCode === undefined,
    stop: async () => {
      if (exitCode === undefined) running.child.kill('SIGTERM');
      return running.exited;
    },
  };
}

/**
 * The server's JSON log lines once one satisfies `wanted`: the server writes its log in
 * batches, so a line can arrive a little after the response it belongs to.
 */
export async function logLinesOnce(server: RunningProcess, wanted: (line: Record<string, unknown>) => boolean, timeoutMs = 5_000): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = jsonLines(server.output());
    if (lines.some(wanted) || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
