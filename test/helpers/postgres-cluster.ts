import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.ts';

/**
 * A PostgreSQL cluster of a test's own, to stop and start at will (an outage) without
 * disturbing the cluster other test files share. Durable settings, like production.
 */
export interface PostgresCluster {
  /** Admin URL of the `postgres` database. */
  readonly adminUrl: string;
  /** A URL for another database on this cluster. */
  urlFor(database: string): string;
  /** `pg_ctl stop -m <mode>`: fast ends sessions and shuts down cleanly, immediate is a crash. */
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  remove(): void;
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinaries();
  const workdir = mkdtempSync(join(tmpdir(), 'shipshape-outage-'));
  chmodSync(workdir, 0o755);
  const port = await freePort();
  const dataDir = join(workdir, 'data');
  // PostgreSQL refuses to run as root; as root, run it as the postgres system user.
  const asOwner = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  if (asOwner.length > 0) execFileSync('chown', ['postgres:', workdir]);
  const run = (command: string, args: string[]) => {
    const [program, ...rest] = [...asOwner, join(bin, command), ...args];
    execFileSync(program!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const settings = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${workdir} -c max_connections=50`;
  const start = () => run('pg_ctl', ['-D', dataDir, '-o', settings, '-l', join(workdir, 'postgres.log'), '-w', 'start']);

  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  start();
  const urlFor = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    stop: (mode = 'fast') => run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']),
    start,
    remove: () => {
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

function postgresBinaries(): string {
  const candidates = ['/usr/lib/postgresql'].filter(existsSync).flatMap((root) => readdirSync(root).map((version) => join(root, version, 'bin')));
  const found = candidates.find((directory) => existsSync(join(directory, 'pg_ctl')) && existsSync(join(directory, 'initdb')));
  if (found === undefined) throw new Error('initdb/pg_ctl not found (install the postgresql server package)');
  return found;
}
