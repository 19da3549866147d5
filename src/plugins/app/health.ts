import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import Type from 'typebox';
import { pingDatabase } from '../../db/database.ts';
import { pendingMigrations } from '../../db/migrate.ts';

const DATABASE_PING_TIMEOUT_MS = 2_000;
const PENDING_RECHECK_MS = 1_000;

/**
 * Whether the schema matches the code. Once current it stays current (migrations only move
 * forward); while pending it is rechecked at most once a second, so a migration Job finishing
 * makes running pods ready without a restart.
 */
class MigrationStatus {
  #pending: string[] | undefined;
  #checkedAt = 0;
  readonly #lookup: () => Promise<string[]>;

  constructor(lookup: () => Promise<string[]>) {
    this.#lookup = lookup;
  }

  get current(): boolean {
    return this.#pending?.length === 0;
  }

  async pending(): Promise<string[]> {
    if (this.current) return [];
    if (this.#pending === undefined || Date.now() - this.#checkedAt >= PENDING_RECHECK_MS) {
      this.#pending = await this.#lookup();
      this.#checkedAt = Date.now();
    }
    return this.#pending;
  }
}

export interface Readiness {
  /** Called on SIGTERM: /readyz answers 503 from now on so load balancers stop sending traffic. */
  startDraining(): void;
  readonly draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
  interface FastifyContextConfig {
    /** Operational endpoints answer even while migrations are pending. */
    operational?: boolean;
  }
}

const HealthResponse = Type.Object({ status: Type.Literal('ok') });
const ReadyResponse = Type.Object({
  status: Type.Literal('ready'),
  degraded: Type.Optional(Type.Array(Type.String(), { description: 'What works less than fully while the instance still serves' })),
});
const NotReadyResponse = Type.Object({ status: Type.Literal('not ready'), reason: Type.String() });
const VersionResponse = Type.Object({
  version: Type.String(),
  gitSha: Type.String(),
  node: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
});

export interface HealthOptions {
  version: string;
  gitSha: string;
}

/** podinfo's operational surface: /healthz, /readyz, /version, and the pending-migration gate. */
export default fp(
  (app: FastifyInstance, options: HealthOptions) => {
    const startedAt = new Date().toISOString();
    const migrations = new MigrationStatus(() => pendingMigrations(app.db));
    let draining = false;
    app.decorate('readiness', {
      startDraining: () => {
        draining = true;
      },
      get draining() {
        return draining;
      },
    });

    // While draining, close each connection after its response: keep-alive clients move to
    // other replicas, and the listener can close once the last in-flight request is answered.
    app.addHook('onSend', (_request, reply, _payload, done) => {
      if (draining) void reply.header('connection', 'close');
      done();
    });

    // With pending migrations the schema does not match the code: refuse work instead of
    // failing halfway through it.
    app.addHook('onRequest', (request, reply, done) => {
      if (migrations.current || request.routeOptions.config.operational === true || !request.routeOptions.url) {
        done();
        return;
      }
      void migrations.pending().then(
        (pending) => {
          if (pending.length === 0) done();
          else void reply.code(503).header('retry-after', '10').send({ errors: { database: ['migrations are pending; try again shortly'] } });
        },
        () => done(),
      );
    });

    app.metrics.trackReadiness(notReadyReason);

    const operational = { operational: true };
    const tags = ['Operations'];

    app.get('/healthz', {
      config: operational,
      schema: { tags, summary: 'Liveness: the process is up', response: { 200: HealthResponse } },
    }, () => ({ status: 'ok' as const }));

    app.get('/readyz', {
      config: operational,
      schema: {
        tags,
        summary: 'Readiness: database reachable, schema current, not shutting down',
        response: { 200: ReadyResponse, 503: NotReadyResponse },
      },
    }, async (request, reply) => {
      const reason = await notReadyReason();
      if (reason === undefined) {
        // Reads still work with a full disk: stay in the load balancer, but say it.
        if (app.database.storageFull()) return { status: 'ready' as const, degraded: ['database storage is full: writes answer 503'] };
        return { status: 'ready' as const };
      }
      request.log.warn({ reason }, 'not ready');
      return reply.code(503).send({ status: 'not ready' as const, reason });
    });

    app.get('/version', {
      config: operational,
      schema: { tags, summary: 'Build and runtime version', response: { 200: VersionResponse } },
    }, () => ({ version: options.version, gitSha: options.gitSha, node: process.version, startedAt }));

    async function notReadyReason(): Promise<string | undefined> {
      if (draining) return 'shutting down';
      try {
        await withTimeout(pingDatabase(app.db), DATABASE_PING_TIMEOUT_MS);
      } catch (error) {
        return `database unreachable: ${(error as Error).message}`;
      }
      const pending = await migrations.pending();
      if (pending.length > 0) return `database migrations pending: ${pending.join(', ')}; run the migrate command`;
      return undefined;
    }
  },
  { name: 'health', dependencies: ['database', 'metrics'] },
);

function withTimeout<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${milliseconds} ms`)), milliseconds);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
