/**
 * The pipeline files through real validators, offline: action-validator (GitHub's workflow
 * schema) on every workflow, a JSON schema of dependabot.yml's documented options (which
 * action-validator cannot check), gitlab-ci-local (GitLab's CI schema, includes, extends and
 * rules) on .gitlab-ci.yml, and shellcheck on every shell script. Each validator is also shown
 * a broken file, so a validator that silently accepts everything fails here.
 */
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CI_SCRIPT_DIR, GITLAB_CI, ROOT, WORKFLOW_FILES, run, tempDir } from './helpers.ts';

describe('GitHub workflows (action-validator)', () => {
  // action-validator 0.6's schema predates the `attestations` permission; that one message
  // is a known false positive (attest-build-provenance needs `attestations: write`).
  const ATTESTATIONS_FALSE_POSITIVE = "Additional property 'attestations' is not allowed";

  interface ValidationError {
    code: string;
    path: string;
    title: string;
    detail?: string;
    states?: { errors: ValidationError[] }[];
  }

  /** True when the error has no cause but the attestations message (through any oneOf branch). */
  function onlyAttestations(error: ValidationError): boolean {
    if (error.states !== undefined) {
      return error.states.some((state) => state.errors.length > 0 && state.errors.every(onlyAttestations));
    }
    return error.detail === ATTESTATIONS_FALSE_POSITIVE;
  }

  async function validate(file: string): Promise<{ code: number; errors: ValidationError[] }> {
    const result = await run(process.execPath, [join(ROOT, 'node_modules/.bin/action-validator'), file]);
    if (result.code === 0) return { code: 0, errors: [] };
    const json = result.stderr.slice(result.stderr.indexOf('{'));
    const { errors } = JSON.parse(json) as { errors: ValidationError[] };
    return { code: result.code, errors: errors.filter((error) => !onlyAttestations(error)) };
  }

  it('finds the workflows', () => {
    expect(WORKFLOW_FILES.map((file) => basename(file)).sort()).toEqual(['ci.yml', 'codeql.yml', 'infra.yml', 'release-tag.yml', 'release.yml']);
  });

  it.each(WORKFLOW_FILES.map((file) => [basename(file), file]))('%s is a valid workflow', async (_name, file) => {
    const { errors } = await validate(file);

    expect(errors).toEqual([]);
  });

  it('still reports every other error, even in a job that also asks for attestations', async () => {
    const directory = tempDir('action-validator');
    const broken = join(directory, 'broken.yml');
    writeFileSync(
      broken,
      [
        'on: push',
        'permissions:',
        '  contents: read',
        'jobs:',
        '  attest:',
        '    runs-on: ubuntu-24.04',
        '    permissions:',
        '      attestations: write',
        '      contents: wrong',
        '    steps:',
        '      - run: true',
        '',
      ].join('\n'),
    );

    const { code, errors } = await validate(broken);

    rmSync(directory, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(errors).not.toEqual([]);
  });
});

describe('.github/dependabot.yml', () => {
  // The options GitHub documents for dependabot.yml (version 2), as far as this file uses them
  // and a little beyond; anything else is a typo Dependabot would reject.
  const updateTypes = { type: 'array', items: { enum: ['major', 'minor', 'patch'] }, minItems: 1 };
  const schema = {
    type: 'object',
    required: ['version', 'updates'],
    additionalProperties: false,
    properties: {
      version: { const: 2 },
      updates: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['package-ecosystem', 'directory', 'schedule'],
          additionalProperties: false,
          properties: {
            'package-ecosystem': { enum: ['npm', 'github-actions', 'docker', 'docker-compose', 'gitsubmodule', 'pip', 'gomod', 'cargo', 'maven', 'gradle', 'nuget', 'bundler', 'composer', 'terraform'] },
            directory: { type: 'string', pattern: '^/' },
            schedule: {
              type: 'object',
              required: ['interval'],
              additionalProperties: false,
              properties: {
                interval: { enum: ['daily', 'weekly', 'monthly', 'quarterly', 'semiannually', 'yearly', 'cron'] },
                day: { enum: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] },
                time: { type: 'string', pattern: '^\\d{2}:\\d{2}$' },
                timezone: { type: 'string' },
              },
            },
            'open-pull-requests-limit': { type: 'integer', minimum: 0 },
            labels: { type: 'array', items: { type: 'string' } },
            groups: {
              type: 'object',
              additionalProperties: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  'applies-to': { enum: ['version-updates', 'security-updates'] },
                  'dependency-type': { enum: ['development', 'production'] },
                  patterns: { type: 'array', items: { type: 'string' } },
                  'exclude-patterns': { type: 'array', items: { type: 'string' } },
                  'update-types': updateTypes,
                },
              },
            },
            ignore: {
              type: 'array',
              items: {
                type: 'object',
                required: ['dependency-name'],
                additionalProperties: false,
                properties: {
                  'dependency-name': { type: 'string' },
                  versions: { type: 'array', items: { type: 'string' } },
                  'update-types': { type: 'array', items: { enum: ['version-update:semver-major', 'version-update:semver-minor', 'version-update:semver-patch'] } },
                },
              },
            },
          },
        },
      },
    },
  };
  const validate = new Ajv({ allErrors: true }).compile(schema);
  const config = parse(readFileSync(join(ROOT, '.github/dependabot.yml'), 'utf8')) as {
    updates: { 'package-ecosystem': string; schedule: { interval: string }; groups?: Record<string, { 'update-types'?: string[] }> }[];
  };

  it("matches the documented options (action-validator only knows workflows and actions)", () => {
    validate(config);

    expect(validate.errors ?? []).toEqual([]);
  });

  it('rejects a misspelt option, so the schema does check something', () => {
    expect(validate({ version: 2, updates: [{ 'package-ecosystem': 'npm', directory: '/', schedule: { interval: 'weekly' }, group: {} }] })).toBe(false);
  });

  it('updates npm, the actions and the Docker base image weekly, minor and patch grouped', () => {
    expect(config.updates.map((update) => update['package-ecosystem']).sort()).toEqual(['docker', 'github-actions', 'npm']);
    for (const update of config.updates) {
      expect(update.schedule.interval).toBe('weekly');
      expect(Object.values(update.groups ?? {}).map((group) => group['update-types'])).toContainEqual(['minor', 'patch']);
    }
  });
});

interface ListedJob {
  name: string;
  stage: string;
  when: string;
  allow_failure: boolean;
  needs: string[] | null;
}

describe('.gitlab-ci.yml (gitlab-ci-local)', () => {
  let project: string;

  /** gitlab-ci-local with this project's Node 24 (it needs 22 or later), in the scratch project. */
  function gitlabCiLocal(args: string[], variables: Record<string, string> = {}, unset: string[] = []) {
    const options = [...Object.entries(variables).flatMap(([name, value]) => ['--variable', `${name}=${value}`]), ...unset.flatMap((name) => ['--unset-variable', name])];
    return run(process.execPath, [join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js'), ...args, ...options], {
      cwd: project,
      env: { GCL_IGNORE_PREDEFINED_VARS: 'CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_COMMIT_TAG,CI_MERGE_REQUEST_IID,CI_SERVER_HOST' },
    });
  }

  async function jobsOf(variables: Record<string, string> = {}, unset: string[] = []): Promise<Map<string, ListedJob>> {
    const listed = await gitlabCiLocal(['--list-json'], variables, unset);
    expect(listed.code, listed.stderr).toBe(0);
    const jobs = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('['))) as ListedJob[];
    return new Map(jobs.filter((job) => job.when !== 'never').map((job) => [job.name, job]));
  }

  /**
   * A scratch Git project holding the pipeline and what its rules look at, with GitLab's
   * security templates seeded where gitlab-ci-local caches includes (gitlab.com is out of
   * reach here): trimmed stand-ins with the real templates' job structure.
   */
  beforeAll(async () => {
    project = tempDir('gitlab-ci-local');
    for (const file of ['.gitlab-ci.yml', 'package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(project, file));
    cpSync(join(ROOT, 'scripts'), join(project, 'scripts'), { recursive: true });
    cpSync(join(ROOT, 'src'), join(project, 'src'), { recursive: true });
    cpSync(join(ROOT, '.gitlab'), join(project, '.gitlab'), { recursive: true });
    const templates = join(project, '.gitlab-ci-local/includes/gitlab.com/gitlab-org/gitlab/-/raw/HEAD/lib/gitlab/ci/templates/Jobs');
    mkdirSync(templates, { recursive: true });
    cpSync(join(ROOT, 'test/pipelines/fixtures/gitlab-templates/Jobs'), templates, { recursive: true });
    const git = (...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: project });
    await git('init', '--quiet', '--initial-branch', 'main');
    await git('remote', 'add', 'origin', 'https://gitlab.com/your-org/shipshape.git');
    await git('add', '--all', '--', '.', ':!.gitlab-ci-local');
    await git('commit', '--quiet', '--message', 'pipeline under test');
    await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    await git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('expands (--preview): includes, extends and references resolve and GitLab\'s CI schema accepts the result', async () => {
    const preview = await gitlabCiLocal(['--preview']);

    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stderr).toContain('json schema validated');
    const expanded = parse(preview.stdout) as Record<string, { stage?: string; script?: string[]; timeout?: string }>;
    expect(expanded.stages).toEqual(['.pre', 'test', 'build', 'scan', 'staging', 'production', '.post']);
    expect(expanded['semgrep-sast']?.stage).toBe('scan');
    expect(expanded['deploy-production']?.script).toEqual(['bash scripts/ci/promote.sh production "$IMAGE_REF"']);
    expect(expanded['deploy-production']?.timeout).toBe('10m');
  });

  it('on the default branch: every check, the build, the scans, staging, and production as a blocking manual job', async () => {
    const jobs = await jobsOf();

    expect(Object.fromEntries([...jobs].map(([name, job]) => [name, `${job.stage}/${job.when}`]))).toEqual({
      lint: 'test/on_success',
      'unit-tests': 'test/on_success',
      'postgres-tests': 'test/on_success',
      conformance: 'test/on_success',
      'scale-tests': 'test/on_success',
      'bench-gate': 'test/on_success',
      'browser-tests': 'test/on_success',
      'browser-tests-postgres': 'test/on_success',
      'deploy-checks': 'test/on_success',
      'pipeline-checks': 'test/on_success',
      'container-tests': 'test/on_success',
      'cluster-tests': 'test/on_success',
      'infra-checks': 'test/on_success',
      'build-image': 'build/on_success',
      'semgrep-sast': 'scan/on_success',
      secret_detection: 'scan/on_success',
      'gemnasium-dependency_scanning': 'scan/on_success',
      'container-scan': 'scan/on_success',
      sbom: 'scan/on_success',
      'npm-audit': 'scan/on_success',
      'sign-image': 'scan/on_success',
      chart: 'scan/on_success',
      'deploy-staging': 'staging/on_success',
      'record-staging': 'staging/on_success',
      'deploy-production': 'production/manual',
      'notify-staging': 'staging/on_success',
      'notify-production': 'production/on_success',
      'notify-failure': '.post/on_failure',
    });
    expect(jobs.get('deploy-production')?.allow_failure).toBe(false);
  });

  it('in a merge request: the checks, build and scans (security templates included), nothing deployed, signed or posted to the chat', async () => {
    const jobs = await jobsOf({ CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '7' }, ['CI_COMMIT_BRANCH']);

    expect([...jobs.keys()]).toEqual(expect.arrayContaining(['lint', 'unit-tests', 'build-image', 'container-scan', 'semgrep-sast', 'secret_detection']));
    for (const name of ['deploy-staging', 'deploy-production', 'sign-image', 'notify-staging', 'notify-production', 'notify-failure']) expect(jobs.has(name), name).toBe(false);
  });

  it('on a release tag: only the retag of the digest staging ran, and production by hand; nothing built, nothing checked again', async () => {
    const jobs = await jobsOf({ CI_COMMIT_TAG: 'v1.2.3' }, ['CI_COMMIT_BRANCH']);

    expect(Object.fromEntries([...jobs].map(([name, job]) => [name, `${job.stage}/${job.when}`]))).toEqual({
      retag: 'build/on_success',
      'release-production': 'production/manual',
      'notify-production': 'production/on_success',
      'notify-failure': '.post/on_failure',
    });
    expect(jobs.get('release-production')?.allow_failure).toBe(false);
  });

  it('on a self-managed GitLab: no keyless signing job (public Sigstore trusts gitlab.com only)', async () => {
    const jobs = await jobsOf({ CI_SERVER_HOST: 'gitlab.example.com' });

    expect(jobs.has('sign-image')).toBe(false);
    expect(jobs.has('deploy-staging')).toBe(true);
  });

  it('rejects a broken pipeline, so the check can fail', async () => {
    writeFileSync(join(project, '.gitlab-ci.yml'), `${readFileSync(GITLAB_CI, 'utf8')}\nbroken-job:\n  stage: nowhere\n  script: [true]\n`);

    const listed = await gitlabCiLocal(['--list']);

    copyFileSync(GITLAB_CI, join(project, '.gitlab-ci.yml'));
    expect(listed.code).not.toBe(0);
    expect(listed.stderr + listed.stdout).toContain('stage:nowhere not found');
  });
});

describe('shell scripts (shellcheck)', () => {
  const scripts = [
    ...readdirSync(CI_SCRIPT_DIR).filter((name) => name.endsWith('.sh')).map((name) => join('scripts/ci', name)),
    ...readdirSync(join(ROOT, 'scripts')).filter((name) => name.endsWith('.sh')).map((name) => join('scripts', name)),
  ];
  // shellcheck 0.9 (Debian bookworm) reports trap handlers as unreachable code (SC2317), a
  // false positive fixed in later releases; scripts/with-postgres.sh has one.
  const shellcheck = (files: string[]) => run('shellcheck', ['--external-sources', '--exclude=SC2317', ...files]);

  it('finds the scripts', () => {
    expect(scripts).toEqual(expect.arrayContaining(['scripts/ci/lib.sh', 'scripts/ci/promote.sh', 'scripts/with-postgres.sh']));
  });

  it('has nothing to say about any of them, at every severity', async () => {
    const result = await shellcheck(scripts);

    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('does complain about a careless script, so the check can fail', async () => {
    const directory = tempDir('shellcheck');
    writeFileSync(join(directory, 'careless.sh'), '#!/usr/bin/env bash\nrm -rf $1/*\n');

    const result = await shellcheck([join(directory, 'careless.sh')]);

    rmSync(directory, { recursive: true, force: true });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('SC2115');
  });
});
