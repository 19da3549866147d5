import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './wait.ts';
import { freePort, type RunningProcess, startProcess } from './process.ts';

export interface Backend {
  readonly name: string;
  readonly port: number;
}

export interface BalancerSettings {
  /** How often HAProxy asks each replica's /readyz. */
  readonly checkIntervalMs: number;
  /** Failed checks before a replica leaves the rotation, passed checks before it rejoins. */
  readonly fall: number;
  readonly rise: number;
}

/** A replica's state as HAProxy's statistics report it: UP, DOWN, or a transition like "UP 1/2". */
export type ServerStates = ReadonlyMap<string, string>;

export interface LoadBalancer {
  /** Where clients send requests. */
  readonly url: string;
  readonly settings: BalancerSettings;
  serverStates(): Promise<ServerStates>;
  /** Waits until HAProxy reports `server` in `state` (UP or DOWN). */
  waitForState(server: string, state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_BALANCER_SETTINGS: BalancerSettings = { checkIntervalMs: 200, fall: 2, rise: 2 };

/**
 * The configuration of a production-like HAProxy in front of the replicas: round robin, a
 * replica leaves the rotation when /readyz stops answering 200 and rejoins when it answers
 * again; X-Forwarded-For added as an ingress does. Retries cover only connection failures
 * (HAProxy's default): a request a replica received and dropped is the client's error to see.
 */
export function haproxyConfig(listenPort: number, statsPort: number, backends: readonly Backend[], settings: BalancerSettings): string {
  const interval = `${settings.checkIntervalMs}ms`;
  return [
    'global',
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  timeout http-keep-alive 5s',
    '  retries 3',
    '  option redispatch',
    '',
    'frontend app',
    `  bind 127.0.0.1:${listenPort}`,
    '  option forwardfor',
    '  default_backend replicas',
    '',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk',
    '  http-check send meth GET uri /readyz',
    '  http-check expect status 200',
    `  default-server check inter ${interval} fastinter ${interval} downinter ${interval} fall ${settings.fall} rise ${settings.rise}`,
    ...backends.map((backend) => `  server ${backend.name} 127.0.0.1:${backend.port}`),
    '',
    'listen stats',
    `  bind 127.0.0.1:${statsPort}`,
    '  stats enable',
    '  stats uri /stats',
    '',
  ].join('\n');
}

/** Starts HAProxy (Debian's, from scripts/ensure-packages.sh) on free loopback ports. */
export async function startLoadBalancer(backends: readonly Backend[], settings = DEFAULT_BALANCER_SETTINGS): Promise<LoadBalancer> {
  const workdir = mkdtempSync(join(tmpdir(), 'shipshape-haproxy-'));
  const configFile = join(workdir, 'haproxy.cfg');
  const [listenPort, statsPort] = [await freePort(), await freePort()];
  writeFileSync(configFile, haproxyConfig(listenPort, statsPort, backends, settings));
  // A configuration mistake is reported by HAProxy's own check, with its message.
  execFileSync('haproxy', ['-c', '-q', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const haproxy: RunningProcess = startProcess('haproxy', ['-db', '-f', configFile], {});
  const statsUrl = `http://127.0.0.1:${statsPort}/stats;csv`;

  const serverStates = async (): Promise<ServerStates> => parseServerStates(await (await fetch(statsUrl)).text());
  const waitForState = async (server: string, state: 'UP' | 'DOWN', timeoutMs = 15_000) => {
    await eventually(() => serverStates().then((states) => states.get(server)), (current) => current === state, { timeoutMs, what: `HAProxy reporting ${server} ${state}` });
  };

  try {
    await eventually(() => fetch(statsUrl).then((response) => response.ok, () => false), Boolean, { timeoutMs: 10_000, what: `HAProxy statistics on ${statsUrl}` });
  } catch (error) {
    haproxy.child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${haproxy.output()}`, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${listenPort}`,
    settings,
    serverStates,
    waitForState,
    stop: async () => {
      haproxy.child.kill('SIGTERM');
      await haproxy.exited;
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

/** The `replicas` backend's servers and their states, from HAProxy's CSV statistics. */
export function parseServerStates(csv: string): ServerStates {
  const [header = '', ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const column = (name: string) => columns.indexOf(name);
  const states = new Map<string, string>();
  for (const row of rows) {
    const cells = row.split(',');
    const server = cells[column('svname')];
    if (cells[column('pxname')] !== 'replicas' || server === undefined || server === 'BACKEND') continue;
    states.set(server, cells[column('status')] ?? '');
  }
  return states;
}
