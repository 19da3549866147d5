import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestStorage, type TestStorage } from '../helpers/app.ts';
import { type LoadBalancer, startLoadBalancer } from '../helpers/haproxy.ts';
import { freePort, productionEnv, ROOT, runNode, startTestServer, type TestServer } from '../helpers/process.ts';

/** The built app, as the image runs it. */
const SERVER = 'dist/server.js';
const CLI = 'dist/cli.js';

export interface Replica {
  readonly name: string;
  readonly port: number;
  readonly version: string;
  readonly server: TestServer;
}

export interface Replacement {
  readonly replica: string;
  /** From SIGTERM to the old process's exit: the drain. */
  readonly drainMs: number;
  /** From SIGTERM until the balancer sends traffic to the new process again. */
  readonly totalMs: number;
}

export interface ClusterOptions {
  readonly replicas: number;
  readonly version: string;
  /** Settings every replica gets (limits, shutdown delay), on top of production defaults. */
  readonly env?: Record<string, string>;
}

/**
 * A production-shaped deployment on loopback: one PostgreSQL database (of the cluster
 * scripts/with-postgres.sh started), migrated once by the `migrate` command, N replicas of the
 * built server with MIGRATE_ON_START=false, and HAProxy in front checking /readyz.
 */
export class Cluster {
  readonly storage: TestStorage;
  readonly databaseUrl: string;
  readonly balancer: LoadBalancer;
  readonly replicas: Replica[];
  readonly #env: Record<string, string>;

  private constructor(storage: TestStorage, databaseUrl: string, balancer: LoadBalancer, replicas: Replica[], env: Record<string, string>) {
    this.storage = storage;
    this.databaseUrl = databaseUrl;
    this.balancer = balancer;
    this.replicas = replicas;
    this.#env = env;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    if (!existsSync(join(ROOT, SERVER))) throw new Error(`${SERVER} is missing: run npm run build first (npm run test:cluster does)`);
    const storage = await createTestStorage();
    if (storage.databaseUrl === undefined) {
      await storage.remove();
      throw new Error('the cluster tests need PostgreSQL: run them with scripts/with-postgres.sh --durable (npm run test:cluster)');
    }
    const databaseUrl = storage.databaseUrl;
    const env: Record<string, string> = {
      ...productionEnv(),
      DATABASE_URL: databaseUrl,
      DATA_DIR: storage.dataDir,
      MIGRATE_ON_START: 'false',
      // HTTP on loopback: the session cookie cannot be Secure here.
      COOKIE_SECURE: 'false',
      // One trusted hop: the balancer's X-Forwarded-For names the client.
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
      DATABASE_POOL_SIZE: '5',
      ...options.env,
    };
    const replicas: Replica[] = [];
    let balancer: LoadBalancer | undefined;
    try {
      const migrated = await runNode(CLI, ['migrate'], { DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' });
      if (migrated.code !== 0) throw new Error(`migrate exited ${migrated.code}:\n${migrated.output}`);
      for (let index = 1; index <= options.replicas; index += 1) {
        replicas.push(await startReplica(`replica-${index}`, await freePort(), options.version, env));
      }
      balancer = await startLoadBalancer(replicas);
      const cluster = new Cluster(storage, databaseUrl, balancer, replicas, env);
      await cluster.waitUntilAllUp();
      return cluster;
    } catch (error) {
      await balancer?.stop();
      await Promise.all(replicas.map((replica) => replica.server.stop()));
      await storage.remove();
      throw error;
    }
  }

  /** The replica's own address, bypassing the balancer. */
  urlOf(index: number): string {
    return this.replica(index).server.baseUrl;
  }

  replica(index: number): Replica {
    const replica = this.replicas[index];
    if (replica === undefined) throw new Error(`no replica ${index}`);
    return replica;
  }

  /** Creates an admin with the `admin:create` command, as an operator does. */
  async createAdmin(username: string, email: string, password: string): Promise<void> {
    const created = await runNode(CLI, ['admin:create', '--email', email, '--username', username], { DATABASE_URL: this.databaseUrl, ADMIN_PASSWORD: password });
    if (created.code !== 0) throw new Error(`admin:create exited ${created.code}:\n${created.output}`);
  }

  async waitUntilAllUp(): Promise<void> {
    for (const replica of this.replicas) await this.balancer.waitForState(replica.name, 'UP');
  }

  /**
   * One step of a rolling update: SIGTERM the replica (it drains: /readyz 503 while it keeps
   * serving, then closes), wait for its clean exit, start the next version on the same port and
   * wait until the balancer has it back in rotation.
   */
  async replace(index: number, version: string, env: Record<string, string> = {}): Promise<Replacement> {
    const old = this.replica(index);
    const started = Date.now();
    const exitCode = await old.server.stop();
    if (exitCode !== 0) throw new Error(`${old.name} exited ${exitCode} on SIGTERM instead of draining cleanly:\n${old.server.process.output()}`);
    const drainMs = Date.now() - started;
    const next = await startReplica(old.name, old.port, version, { ...this.#env, ...env });
    this.replicas[index] = next;
    await this.balancer.waitForState(next.name, 'UP');
    return { replica: old.name, drainMs, totalMs: Date.now() - started };
  }

  async stop(): Promise<void> {
    await this.balancer.stop();
    await Promise.all(this.replicas.map((replica) => replica.server.stop()));
    await this.storage.remove();
  }
}

async function startReplica(name: string, port: number, version: string, env: Record<string, string>): Promise<Replica> {
  const server = await startTestServer({ ...env, APP_VERSION: version }, { script: SERVER, port });
  return { name, port, version, server };
}
