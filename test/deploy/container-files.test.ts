/**
 * Offline checks of the Dockerfile, .dockerignore and compose.yml. The image itself is run by
 * test/container/; the compose stack cannot run here (its postgres image is public), so
 * compose.yml is checked by a real Compose implementation (`docker-compose config`, Debian's
 * docker-compose 1.29) and by policy over what that implementation resolves.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../helpers/process.ts';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): { keyword: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const all = instructions(dockerfile);
  const stages = all.filter((instruction) => instruction.keyword === 'FROM');
  const runtimeStart = all.findIndex((instruction) => instruction === stages.at(-1));
  const runtime = all.slice(runtimeStart);

  it('has no problem dockerfile-utils can find', () => {
    expect(validate(dockerfile, {})).toEqual([]);
  });

  it('builds in stages, every one on the NODE_IMAGE argument, defaulting to the public Node 24 slim image', () => {
    expect(all[0]).toEqual({ keyword: 'ARG', args: 'NODE_IMAGE=docker.io/library/node:24-bookworm-slim' });
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.args).toMatch(/^\$\{NODE_IMAGE\} AS [a-z]+$/);
  });

  it('runs as uid 1000, never root, with node itself as PID 1 in exec form', () => {
    const users = runtime.filter((instruction) => instruction.keyword === 'USER');
    const command = runtime.filter((instruction) => instruction.keyword === 'CMD');

    expect(users.map((user) => user.args)).toEqual(['1000:1000']);
    expect(command).toHaveLength(1);
    expect(JSON.parse(command[0]?.args ?? '')).toEqual(['node', 'dist/server.js']);
    expect(runtime.some((instruction) => instruction.keyword === 'ENTRYPOINT')).toBe(false);
  });

  it('copies only production dependencies and the compiled output into the runtime stage, and declares no volume', () => {
    const copies = runtime.filter((instruction) => instruction.keyword === 'COPY').map((instruction) => instruction.args);

    expect(copies).toEqual(['package.json ./', '--from=dependencies /app/node_modules ./node_modules', '--from=build /app/dist ./dist']);
    expect(all.some((instruction) => instruction.keyword === 'VOLUME' || instruction.keyword === 'ADD')).toBe(false);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
  });

  it('labels the image with its source, revision, version and creation time from build arguments', () => {
    for (const [label, argument] of [
      ['source', 'SOURCE_URL'],
      ['revision', 'GIT_SHA'],
      ['version', 'APP_VERSION'],
      ['created', 'CREATED'],
    ]) {
      expect(dockerfile).toContain(`org.opencontainers.image.${label}="\${${argument}}"`);
    }
    expect(dockerfile).toMatch(/ENV GIT_SHA=\$\{GIT_SHA\}/);
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());

  it('keeps dependencies, build and test artefacts, git history and secrets out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['.git', 'node_modules', 'dist', 'coverage', 'test-results', 'data', '.env', '.env.*']));
  });
});

function runCompose(directory: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('docker-compose', args, { cwd: directory }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** .env.example with the compose secrets filled in, as a user would after copying it. */
function envFile(overrides: Record<string, string | undefined>): string {
  let text = envExample;
  for (const [name, value] of Object.entries(overrides)) {
    text = text.replace(new RegExp(`^# ${name}=.*$`, 'm'), value === undefined ? '' : `${name}=${value}`);
  }
  return text;
}

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  user?: string;
  tmpfs?: string[];
  ports?: string[];
  volumes?: string[];
  stop_grace_period?: string;
}

describe('compose.yml', () => {
  const SECRETS = { POSTGRES_PASSWORD: 'a'.repeat(32), JWT_SECRET: 'j'.repeat(40), SESSION_SECRET: 's'.repeat(40) };
  let directory: string;
  let services: Record<string, ComposeService>;
  let volumes: Record<string, unknown>;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'shipshape-compose-'));
    cpSync(join(ROOT, 'compose.yml'), join(directory, 'compose.yml'));
    writeFileSync(join(directory, '.env'), envFile(SECRETS));
    const resolved = await runCompose(directory, ['config']);
    expect(resolved.code, resolved.stderr).toBe(0);
    ({ services, volumes } = parse(resolved.stdout) as { services: Record<string, ComposeService>; volumes: Record<string, unknown> });
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('runs PostgreSQL 17 from the public image on a named volume, with a health check', () => {
    const postgres = services.postgres;

    expect(postgres?.image).toBe('postgres:17');
    expect(postgres?.volumes).toEqual([expect.stringMatching(/^postgres-data:\/var\/lib\/postgresql\/data/)]);
    expect(Object.keys(volumes).sort()).toEqual(['alloy-data', 'grafana-data', 'loki-data', 'postgres-data', 'prometheus-data']);
    expect(postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
  });

  it('migrates with the app image once PostgreSQL is healthy, and starts the app only after that succeeded', () => {
    const { migrate, app } = services;

    expect(migrate?.image).toBe(app?.image);
    expect(migrate?.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(app?.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, migrate: { condition: 'service_completed_successfully' } });
    expect(app?.environment?.DATABASE_URL).toBe(`postgres://shipshape:${SECRETS.POSTGRES_PASSWORD}@postgres:5432/shipshape`);
  });

  it('hardens both app containers as production does: uid 1000, read-only root, no capabilities, no privilege escalation', () => {
    for (const name of ['migrate', 'app']) {
      const service = services[name];
      expect(service?.user, name).toBe('1000:1000');
      expect(service?.read_only, name).toBe(true);
      expect(service?.cap_drop, name).toEqual(['ALL']);
      expect(service?.security_opt, name).toEqual(['no-new-privileges:true']);
      expect(service?.tmpfs, name).toEqual(['/tmp']);
      expect(service?.environment?.NODE_ENV, name).toBe('production');
    }
  });

  it('serves the app on localhost:3000 only, with a readiness health check and time to drain', () => {
    const app = services.app;

    expect(app?.ports).toEqual(['127.0.0.1:3000:3000/tcp']);
    expect(app?.environment).toMatchObject({ HOST: '0.0.0.0', PORT: '3000', JWT_SECRET: SECRETS.JWT_SECRET, SESSION_SECRET: SECRETS.SESSION_SECRET });
    expect(app?.healthcheck?.test.join(' ')).toContain('/readyz');
    expect(app?.stop_grace_period).toBe('30s');
  });

  it('exports traces only when .env names a collector (OTEL_EXPORTER_OTLP_ENDPOINT): empty, the app leaves tracing off', async () => {
    expect(services.app?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('');
    writeFileSync(join(directory, '.env'), envFile({ ...SECRETS, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://tempo:4318' }));
    try {
      const resolved = await runCompose(directory, ['config']);
      const traced = (parse(resolved.stdout) as { services: Record<string, ComposeService> }).services.app;

      expect(resolved.code, resolved.stderr).toBe(0);
      expect(traced?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://tempo:4318');
    } finally {
      writeFileSync(join(directory, '.env'), envFile(SECRETS));
    }
  });

  it.each(Object.keys(SECRETS))('refuses to start without %s in .env, naming it', async (secret) => {
    writeFileSync(join(directory, '.env'), envFile({ ...SECRETS, [secret]: undefined }));
    try {
      const resolved = await runCompose(directory, ['config']);

      expect(resolved.code).not.toBe(0);
      expect(resolved.stderr).toContain(`set ${secret} in .env`);
    } finally {
      writeFileSync(join(directory, '.env'), envFile(SECRETS));
    }
  });

  it('uses only variables that .env.example documents', () => {
    const used = [...readFileSync(join(ROOT, 'compose.yml'), 'utf8').matchAll(/\$\{([A-Z_]+)/g)].map((match) => match[1]);

    expect(used.length).toBeGreaterThan(0);
    for (const variable of new Set(used)) expect(envExample, variable).toMatch(new RegExp(`^#? ?${variable}=`, 'm'));
  });
});
