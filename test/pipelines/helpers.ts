import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../helpers/process.ts';

export { ROOT };

export const WORKFLOW_DIR = join(ROOT, '.github/workflows');
export const WORKFLOW_FILES = readdirSync(WORKFLOW_DIR)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => join(WORKFLOW_DIR, name));
export const GITLAB_CI = join(ROOT, '.gitlab-ci.yml');
export const CI_SCRIPT_DIR = join(ROOT, 'scripts/ci');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/**
 * Runs a command to completion without blocking the event loop (the smoke test's server
 * lives in this process), with the caller's environment plus `env` (undefined unsets).
 */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<Result> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd ?? ROOT, env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

export function readYaml<T>(path: string): T {
  return parse(readFileSync(path, 'utf8')) as T;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shipshape-${prefix}-`));
}

/**
 * A directory of stand-in executables to put first on PATH: each logs its name, arguments and
 * the environment variables the scripts hand over to `$STUB_LOG`, one line per call, and
 * runs the given shell body (default: exit 0).
 */
export function stubCommands(stubs: Record<string, string>): { bin: string; log: string } {
  const bin = tempDir('stubs');
  const log = join(bin, 'calls.log');
  writeFileSync(log, '');
  mkdirSync(bin, { recursive: true });
  for (const [name, body] of Object.entries(stubs)) {
    const path = join(bin, name);
    writeFileSync(
      path,
      [
        '#!/usr/bin/env bash',
        `printf '%s\\n' "${name} $* | CI=\${CI:-} DB=\${TEST_DATABASE_URL:-} BROWSER=\${CHROMIUM_PATH:-}" >> "$STUB_LOG"`,
        body === '' ? 'exit 0' : body,
        '',
      ].join('\n'),
    );
    chmodSync(path, 0o755);
  }
  return { bin, log };
}

export function stubLines(log: string): string[] {
  return readFileSync(log, 'utf8').split('\n').filter((line) => line !== '');
}

/** Every `uses:` line of a workflow with its reference and trailing comment. */
export function usesLines(text: string): { ref: string; comment: string | undefined }[] {
  return [...text.matchAll(/^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?[ \t]*(?:#\s*(.*))?$/gm)].map((match) => ({
    ref: match[1] ?? '',
    comment: match[2]?.trim(),
  }));
}

/** GitHub Actions workflow, as much of it as the policies read. */
export type Permissions = 'read-all' | 'write-all' | Record<string, 'read' | 'write' | 'none'>;

export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
  if?: string;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  'runs-on'?: string;
  'timeout-minutes'?: number;
  permissions?: Permissions;
  environment?: string | { name: string; url?: string };
  concurrency?: string | { group: string; 'cancel-in-progress'?: boolean | string };
  outputs?: Record<string, string>;
  services?: Record<string, { image: string; env?: Record<string, string>; options?: string; ports?: string[] }>;
  env?: Record<string, string>;
  steps?: Step[];
}

export interface Workflow {
  name?: string;
  on: Record<string, unknown> | string | string[];
  permissions?: Permissions;
  concurrency?: { group: string; 'cancel-in-progress'?: boolean | string };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

export function environmentOf(job: Job): string | undefined {
  return typeof job.environment === 'string' ? job.environment : job.environment?.name;
}

/** GitLab CI configuration, as much of it as the policies read. */
export interface GitlabNeed {
  job: string;
  artifacts?: boolean;
  optional?: boolean;
}

export interface GitlabRule {
  if?: string;
  when?: string;
  exists?: string[];
  allow_failure?: boolean;
}

export interface GitlabJob {
  stage?: string;
  extends?: string | string[];
  image?: string | { name: string; entrypoint?: string[] };
  services?: (string | { name: string; alias?: string })[];
  variables?: Record<string, string | { value: string; description?: string }>;
  before_script?: string[];
  script?: string[];
  needs?: (string | GitlabNeed)[];
  rules?: GitlabRule[];
  only?: unknown;
  except?: unknown;
  when?: string;
  environment?: string | { name: string; url?: string; deployment_tier?: string };
  resource_group?: string;
  timeout?: string;
  allow_failure?: boolean;
  interruptible?: boolean;
  coverage?: string;
  cache?: { key?: string | { files: string[] }; paths?: string[] } | { key?: string | { files: string[] }; paths?: string[] }[];
  artifacts?: {
    paths?: string[];
    when?: string;
    reports?: {
      junit?: string | string[];
      dotenv?: string;
      cyclonedx?: string;
      coverage_report?: { coverage_format: string; path: string };
    };
  };
  id_tokens?: Record<string, { aud: string }>;
}

/** The keys of a GitLab CI file that are not jobs. */
export const GITLAB_KEYWORDS = new Set(['workflow', 'stages', 'default', 'variables', 'include', 'image', 'services', 'cache', 'before_script', 'after_script']);

export function gitlabJobs(config: Record<string, unknown>): Record<string, GitlabJob> {
  return Object.fromEntries(Object.entries(config).filter(([name]) => !GITLAB_KEYWORDS.has(name))) as Record<string, GitlabJob>;
}

export function gitlabNeeds(job: GitlabJob): GitlabNeed[] {
  return (job.needs ?? []).map((need) => (typeof need === 'string' ? { job: need } : need));
}

/** A deploy reference may never be a moving tag. */
export const LATEST_TAG = /:latest\b/;

/**
 * A step that builds an image: docker build / buildx build / bake and their actions, kaniko,
 * buildah (any use), podman build, or the project's build-image scripts. Copying a manifest by
 * digest (skopeo copy, crane, oras, `docker buildx imagetools create`) is not a build.
 */
/**
 * A step that waits for a deployment to answer or smoke-tests it, directly or through the
 * scripts it calls (smoke.sh -> wait-for-version.ts, the smoke command): what production's
 * jobs must not do, since a person syncs production and Argo CD smoke-tests it (PostSync hook).
 */
export const WAITS_FOR_DEPLOYMENT = /wait-for-version\.ts|scripts\/ci\/smoke\.sh|scripts\/smoke\.ts|npm run (?:--silent )?smoke\b|cli\.js smoke\b/;

/** How long a production job may take: it only commits the pin (npm ci, promote.sh). */
export const PRODUCTION_PIN_MINUTES = 10;

export const BUILD_STEP =
  /docker\/(?:build-push|bake|setup-buildx)-action@|docker (?:buildx )?build\b|buildx (?:build|bake)\b|\bkaniko\b|\bbuildah\b|podman (?:image )?build\b|build-image\.sh/;

/**
 * `text` with the text of every script it runs appended, followed recursively: scripts/**\/*.sh
 * and *.ts files named in it, and `npm run <script>` / `npm test` through package.json. A step
 * that builds through a script (container-tests.sh -> npm run test:container -> build-image.sh)
 * is then seen to build.
 */
export function withCalledScripts(text: string): string {
  const packageScripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const seen = new Set<string>();
  const expand = (chunk: string): string => {
    const called: string[] = [];
    for (const match of chunk.matchAll(/\bscripts\/[\w./-]+\.(?:sh|ts)\b/g)) {
      const path = match[0];
      if (seen.has(path)) continue;
      seen.add(path);
      try {
        called.push(expand(readFileSync(join(ROOT, path), 'utf8')));
      } catch {
        // A script that does not exist runs nothing here; another test checks they exist.
      }
    }
    for (const match of chunk.matchAll(/\bnpm (?:run ([\w:-]+)|(test)\b)/g)) {
      const name = match[1] ?? match[2] ?? '';
      const key = `npm:${name}`;
      if (seen.has(key) || packageScripts[name] === undefined) continue;
      seen.add(key);
      called.push(expand(packageScripts[name]));
    }
    return [chunk, ...called].join('\n');
  };
  return expand(text);
}
