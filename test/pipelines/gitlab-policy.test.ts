/**
 * Policy over .gitlab-ci.yml, beyond GitLab's schema (validators.test.ts): rules instead of
 * only/except, one image digest from the build job's dotenv promoted to staging and then, by
 * a person, to production, never rebuilt, deploys serialised by resource groups, and reports
 * GitLab can read. Policies return violations and are also run on a bad example.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GITLAB_CI, type GitlabJob, LATEST_TAG, gitlabJobs, gitlabNeeds } from './helpers.ts';

interface GitlabConfig {
  workflow: { rules: { if?: string; when?: string }[]; auto_cancel?: { on_new_commit?: string } };
  stages: string[];
  default: { image: string; interruptible?: boolean };
  variables: Record<string, string | { value: string; description?: string }>;
  include: { template: string }[];
  [job: string]: unknown;
}

const text = readFileSync(GITLAB_CI, 'utf8');
const config = parse(text) as GitlabConfig;
const jobs = gitlabJobs(config);
const job = (name: string): GitlabJob => jobs[name] ?? {};
const visible = Object.entries(jobs).filter(([name]) => !name.startsWith('.'));
const TEMPLATE_OVERRIDES = ['sast', 'secret_detection', 'dependency_scanning'];
const DEPLOYS = ['deploy-staging', 'deploy-production'];

/** A job's lines with its `extends` resolved one level (enough for this file's templates). */
function lines(name: string): string[] {
  const own = job(name);
  const parents = own.extends === undefined ? [] : Array.isArray(own.extends) ? own.extends : [own.extends];
  const before = own.before_script ?? parents.map((parent) => job(parent).before_script ?? []).find((script) => script.length > 0) ?? [];
  return [...before, ...(own.script ?? [])];
}

function envName(candidate: GitlabJob): string | undefined {
  return typeof candidate.environment === 'string' ? candidate.environment : candidate.environment?.name;
}

// ---- the policies ----

function onlyExcept(all: Record<string, GitlabJob>): string[] {
  return Object.entries(all)
    .filter(([, candidate]) => candidate.only !== undefined || candidate.except !== undefined)
    .map(([name]) => name);
}

const BUILDS = /buildah|docker (buildx )?build|kaniko|build-image\.sh/;

function productionViolations(all: Record<string, GitlabJob>, linesOf: (name: string) => string[]): string[] {
  const violations: string[] = [];
  for (const [name, candidate] of Object.entries(all).filter(([, candidate]) => envName(candidate) === 'production')) {
    const rules = candidate.rules ?? [];
    if (rules.length === 0 || rules.some((rule) => rule.when !== 'manual')) violations.push(`${name} is not manual in every rule`);
    if (candidate.allow_failure !== false) violations.push(`${name} does not block the pipeline`);
    if (candidate.resource_group !== 'production') violations.push(`${name} has no production resource group`);
    if (linesOf(name).some((line) => BUILDS.test(line))) violations.push(`${name} builds an image`);
    if (!gitlabNeeds(candidate).some((need) => need.job === 'build-image' && need.artifacts !== false)) violations.push(`${name} does not take the build job's dotenv`);
    if (!linesOf(name).some((line) => line === 'bash scripts/ci/promote.sh production "$IMAGE_REF"')) violations.push(`${name} does not promote $IMAGE_REF`);
    if (linesOf(name).some((line) => line.includes('smoke.sh')) && candidate.variables?.SMOKE_READ_ONLY !== 'true') violations.push(`${name} smoke-tests production with writes`);
  }
  const promoters = Object.keys(all).filter((name) => linesOf(name).some((line) => line.includes('promote.sh production')));
  for (const name of promoters) if (envName(all[name] ?? {}) !== 'production') violations.push(`${name} promotes production outside environment: production`);
  return violations;
}

/** GitLab reads the first capture group of the coverage regex out of the job log. */
function coverageOf(pattern: string, log: string): string | undefined {
  const body = /^\/(.*)\/$/.exec(pattern)?.[1];
  if (body === undefined) return undefined;
  return new RegExp(body, 'm').exec(log)?.[1];
}

// ---- the tests ----

describe('the policies find what they look for', () => {
  const bad = parse(`
deploy-production:
  stage: production
  environment: production
  only: [main]
  needs: [build-image]
  script:
    - buildah build -t "$CI_REGISTRY_IMAGE:latest" .
    - bash scripts/ci/promote.sh production "$CI_REGISTRY_IMAGE:latest"
    - bash scripts/ci/smoke.sh "$PRODUCTION_URL"
`) as Record<string, GitlabJob>;

  it('only/except, and a production job that builds, runs unattended and promotes a tag', () => {
    expect(onlyExcept(bad)).toEqual(['deploy-production']);
    expect(productionViolations(bad, (name) => bad[name]?.script ?? [])).toEqual([
      'deploy-production is not manual in every rule',
      'deploy-production does not block the pipeline',
      'deploy-production has no production resource group',
      'deploy-production builds an image',
      'deploy-production does not promote $IMAGE_REF',
      'deploy-production smoke-tests production with writes',
    ]);
  });

  it('a coverage regex that reads the wrong line', () => {
    expect(coverageOf('/Branches\\s*:\\s*(\\d+(?:\\.\\d+)?)%/', 'Lines        : 94.69% ( 3000/3168 )')).toBeUndefined();
  });
});

describe('.gitlab-ci.yml', () => {
  it('uses rules:, never only/except', () => {
    expect(onlyExcept(jobs)).toEqual([]);
    for (const [name, candidate] of visible.filter(([name]) => !TEMPLATE_OVERRIDES.includes(name))) expect(candidate.rules, name).toBeDefined();
  });

  it('runs pipelines for merge requests, the default branch and tags, and no branch pipeline beside a merge request', () => {
    expect(config.workflow.rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "merge_request_event"' },
      { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' },
      { if: '$CI_COMMIT_TAG' },
    ]);
    expect(config.workflow.auto_cancel?.on_new_commit).toBe('interruptible');
  });

  it('goes test, build, scan, staging, production', () => {
    expect(config.stages).toEqual(['test', 'build', 'scan', 'staging', 'production']);
  });

  it('runs on Node.js 24 by default; checks and builds are interruptible, deployments never', () => {
    expect(config.default.image).toBe('docker.io/library/node:24-bookworm-slim');
    expect(config.default.interruptible).toBe(true);
    for (const name of DEPLOYS) expect(job(name).extends).toBe('.deploy');
    expect(job('.deploy').interruptible).toBe(false);
    for (const [name, candidate] of visible) if (!DEPLOYS.includes(name)) expect(candidate.interruptible, name).not.toBe(false);
  });

  it('caches npm downloads keyed on the lockfile and installs from that cache', () => {
    expect(job('.npm').cache).toEqual({ key: { files: ['package-lock.json'] }, paths: ['.npm/'] });
    expect(job('.npm').before_script).toEqual(['npm ci --cache .npm --prefer-offline']);
    for (const name of ['lint', 'unit-tests', 'postgres-tests', 'conformance', 'scale-tests', 'bench-gate', 'browser-tests', 'cluster-tests', 'sbom']) expect(String(job(name).extends), name).toContain('.npm');
  });

  it('calls the shared scripts, as the GitHub workflows do', () => {
    const calls = Object.fromEntries(
      ['lint', 'unit-tests', 'postgres-tests', 'conformance', 'scale-tests', 'bench-gate', 'browser-tests', 'cluster-tests', 'sbom', 'npm-audit', 'container-scan'].map((name) => [name, job(name).script]),
    );

    expect(calls).toEqual({
      lint: ['bash scripts/ci/lint.sh'],
      'unit-tests': ['bash scripts/ci/unit-tests.sh'],
      'postgres-tests': ['bash scripts/ci/postgres-tests.sh'],
      conformance: ['bash scripts/ci/conformance.sh'],
      'scale-tests': ['bash scripts/ci/scale-tests.sh'],
      'bench-gate': ['bash scripts/ci/bench-gate.sh'],
      'browser-tests': ['bash scripts/ci/browser-tests.sh sqlite'],
      'cluster-tests': ['bash scripts/ci/cluster-tests.sh'],
      sbom: ['bash scripts/ci/sbom.sh'],
      'npm-audit': ['bash scripts/ci/audit.sh'],
      'container-scan': ['bash scripts/ci/scan-image.sh "$IMAGE_REF"'],
    });
  });

  it('reports coverage with a regex that reads the Lines line of the summary', () => {
    const summary = ['Statements   : 93.12% ( 3100/3329 )', 'Branches     : 85.1% ( 900/1057 )', 'Functions    : 96% ( 480/500 )', 'Lines        : 94.69% ( 3000/3168 )'].join('\n');
    const unitTests = job('unit-tests');

    expect(coverageOf(unitTests.coverage ?? '', summary)).toBe('94.69');
    expect(coverageOf(unitTests.coverage ?? '', 'Lines        : 100% ( 10/10 )')).toBe('100');
    expect(unitTests.artifacts?.reports).toEqual({
      junit: 'test-results/junit-sqlite.xml',
      coverage_report: { coverage_format: 'cobertura', path: 'coverage/cobertura-coverage.xml' },
    });
    expect(unitTests.artifacts?.when).toBe('always');
  });

  it('gives the PostgreSQL jobs a postgres:17 service and its admin URL', () => {
    const postgres = job('.postgres');

    expect(postgres.services).toEqual([{ name: 'postgres:17', alias: 'postgres' }]);
    const password = postgres.variables?.POSTGRES_PASSWORD;

    expect(typeof password).toBe('string');
    expect(postgres.variables?.TEST_DATABASE_URL).toBe(`postgres://postgres:${typeof password === 'string' ? password : ''}@postgres:5432/postgres`);
    for (const name of ['postgres-tests', 'conformance', 'scale-tests', 'cluster-tests']) expect(job(name).extends).toEqual(['.npm', '.postgres']);
  });

  it('builds with buildah, pushes the short commit (and the tag on tags), and hands on the digest as a dotenv report', () => {
    const build = job('build-image');

    expect(build.image).toMatch(/^quay\.io\/buildah\/stable:v\d+\.\d+\.\d+$/);
    expect(build.script).toEqual(['bash scripts/ci/build-image.sh buildah "$CI_REGISTRY_IMAGE" "$CI_COMMIT_SHORT_SHA" ${CI_COMMIT_TAG:+"$CI_COMMIT_TAG"}']);
    expect(build.artifacts?.reports?.dotenv).toBe('image.env');
    expect(Object.entries(jobs).filter(([name]) => lines(name).some((line) => BUILDS.test(line))).map(([name]) => name)).toEqual(['build-image']);
  });

  it('scans with a trivy image pinned by digest, and signs only on GitLab.com, after the scan', () => {
    const scan = job('container-scan');
    const sign = job('sign-image');

    expect(typeof scan.image === 'object' && scan.image.name).toMatch(/^docker\.io\/aquasec\/trivy:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    expect(gitlabNeeds(scan)).toEqual([{ job: 'build-image', artifacts: true }]);
    expect(gitlabNeeds(sign).map((need) => need.job)).toEqual(['build-image', 'container-scan']);
    expect(sign.id_tokens).toEqual({ SIGSTORE_ID_TOKEN: { aud: 'sigstore' } });
    expect(sign.script).toContain('cosign sign --yes "$IMAGE_REF"');
  });

  it('includes the SAST, secret detection and dependency scanning templates, run in the scan stage', () => {
    expect(config.include).toEqual([
      { template: 'Jobs/SAST.gitlab-ci.yml' },
      { template: 'Jobs/Secret-Detection.gitlab-ci.yml' },
      { template: 'Jobs/Dependency-Scanning.gitlab-ci.yml' },
      { local: '.gitlab/ci/infra.gitlab-ci.yml' },
    ]);
    for (const name of TEMPLATE_OVERRIDES) expect(job(name), name).toEqual({ stage: 'scan', needs: [] });
    expect(config.variables.AST_ENABLE_MR_PIPELINES).toBe('true');
  });

  it('declares the environment URLs as pipeline variables', () => {
    for (const name of ['STAGING_URL', 'PRODUCTION_URL']) {
      const variable = config.variables[name];
      expect(typeof variable === 'object' && variable.value, name).toMatch(/^https:\/\//);
    }
  });

  it('promotes to staging from the default branch only, after every check and gate, then smoke-tests it', () => {
    const staging = job('deploy-staging');

    expect(staging.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
    expect(staging.environment).toEqual({ name: 'staging', url: '$STAGING_URL', deployment_tier: 'staging' });
    expect(staging.resource_group).toBe('staging');
    expect(gitlabNeeds(staging).filter((need) => need.artifacts !== false)).toEqual([{ job: 'build-image', artifacts: true }]);
    expect(gitlabNeeds(staging).map((need) => need.job).sort()).toEqual(
      [
        'bench-gate',
        'browser-tests',
        'browser-tests-postgres',
        'build-image',
        'cluster-tests',
        'conformance',
        'container-scan',
        'container-tests',
        'deploy-checks',
        'infra-checks',
        'lint',
        'npm-audit',
        'pipeline-checks',
        'postgres-tests',
        'sbom',
        'scale-tests',
        'sign-image',
        'unit-tests',
      ],
    );
    expect(staging.script).toEqual(['bash scripts/ci/promote.sh staging "$IMAGE_REF"', 'bash scripts/ci/smoke.sh "$STAGING_URL" "$CI_COMMIT_SHA"']);
  });

  it('promotes the same digest to production by hand only, blocking, one at a time, never building', () => {
    const production = job('deploy-production');

    expect(productionViolations(jobs, lines)).toEqual([]);
    expect(production.environment).toEqual({ name: 'production', url: '$PRODUCTION_URL', deployment_tier: 'production' });
    expect(production.rules).toEqual([
      { if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', when: 'manual' },
      { if: '$CI_COMMIT_TAG', when: 'manual' },
    ]);
    expect(gitlabNeeds(production)).toEqual(expect.arrayContaining([{ job: 'deploy-staging', optional: true, artifacts: false }]));
    // Everything staging waited for, production waits for too (a tag pipeline has no staging).
    expect(gitlabNeeds(production).map((need) => need.job).filter((name) => name !== 'deploy-staging').sort()).toEqual(gitlabNeeds(job('deploy-staging')).map((need) => need.job).sort());
  });

  it('pushes promotions with GITOPS_TOKEN, since the job token cannot push', () => {
    expect(job('.deploy').before_script).toEqual(expect.arrayContaining([expect.stringMatching(/^git remote set-url --push origin ".*\$GITOPS_TOKEN@/)]));
  });

  it('never names :latest', () => {
    expect(text).not.toMatch(LATEST_TAG);
  });
});
