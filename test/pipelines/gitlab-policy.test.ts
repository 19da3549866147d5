/**
 * Policy over .gitlab-ci.yml, beyond GitLab's schema (validators.test.ts): rules instead of
 * only/except, one image digest from the build job's dotenv promoted to staging and then, by
 * a person, to production, never rebuilt, deploys serialised by resource groups, and reports
 * GitLab can read; a tag pipeline builds nothing and releases the digest staging ran. Policies
 * return violations and are also run on a bad example.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUILD_STEP, GITLAB_CI, type GitlabJob, type GitlabRule, LATEST_TAG, PRODUCTION_PIN_MINUTES, ROOT, WAITS_FOR_DEPLOYMENT, gitlabJobs, gitlabNeeds, withCalledScripts } from './helpers.ts';

interface GitlabConfig {
  workflow: { rules: { if?: string; when?: string }[]; auto_cancel?: { on_new_commit?: string } };
  stages: string[];
  default: { image: string; interruptible?: boolean };
  variables: Record<string, string | { value: string; description?: string }>;
  include: ({ template: string } | { local: string })[];
  [job: string]: unknown;
}

const text = readFileSync(GITLAB_CI, 'utf8');
const config = parse(text) as GitlabConfig;
const jobs = gitlabJobs(config);
const job = (name: string): GitlabJob => jobs[name] ?? {};
const visible = Object.entries(jobs).filter(([name]) => !name.startsWith('.'));
const TEMPLATE_OVERRIDES = ['sast', 'secret_detection', 'dependency_scanning'];
const DEPLOYS = ['deploy-staging', 'deploy-production', 'release-production'];
/** The jobs of the included local files too: a tag pipeline runs them as well. */
const includedJobs = Object.fromEntries(
  config.include.flatMap((entry) => ('local' in entry ? Object.entries(gitlabJobs(parse(readFileSync(join(ROOT, String(entry.local)), 'utf8')) as Record<string, unknown>)) : [])),
) as Record<string, GitlabJob>;
const allJobs = { ...includedJobs, ...jobs };

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

/** A job with its `extends` merged in, as GitLab does for the keys read here (lists replace). */
function resolved(all: Record<string, GitlabJob>, name: string, depth = 0): GitlabJob {
  const own = all[name] ?? {};
  if (depth > 10) throw new Error(`extends loop at ${name}`);
  const parents = own.extends === undefined ? [] : Array.isArray(own.extends) ? own.extends : [own.extends];
  return Object.assign({}, ...parents.map((parent) => resolved(all, parent, depth + 1)), own) as GitlabJob;
}

/** A tag pipeline's predefined variables, as GitLab sets them for a pushed tag. */
const TAG_PIPELINE: Record<string, string> = {
  CI_COMMIT_TAG: 'v1.2.3',
  CI_COMMIT_REF_NAME: 'v1.2.3',
  CI_PIPELINE_SOURCE: 'push',
  CI_DEFAULT_BRANCH: 'main',
  CI_SERVER_HOST: 'gitlab.com',
};

/**
 * GitLab's `if:` for the forms this repository writes: `$VAR`, `$VAR == $OTHER`, `... != "text"`,
 * joined by && and ||. An unset variable is null (equal to nothing but another null).
 */
function ruleMatches(expression: string, variables: Record<string, string>): boolean {
  const value = (operand: string): string | null => {
    const trimmed = operand.trim();
    if (trimmed.startsWith('$')) return variables[trimmed.slice(1)] ?? null;
    if (/^(["']).*\1$/.test(trimmed)) return trimmed.slice(1, -1);
    throw new Error(`cannot evaluate ${trimmed} in ${expression}`);
  };
  return expression.split('||').some((alternative) =>
    alternative.split('&&').every((term) => {
      const comparison = /^(.*?)\s*(==|!=)\s*(.*)$/.exec(term.trim());
      if (comparison === null) return (value(term) ?? '') !== '';
      const equal = value(comparison[1] ?? '') === value(comparison[3] ?? '');
      return comparison[2] === '==' ? equal : !equal;
    }),
  );
}

/** Whether the job is in a pipeline with these variables: its first matching rule decides. */
function runsIn(job: GitlabJob, variables: Record<string, string>): boolean {
  const rules: GitlabRule[] | undefined = job.rules;
  if (rules === undefined) return job.when !== 'never';
  // `changes:` and `exists:` are taken as true: a tag pipeline may well meet them.
  const rule = rules.find((candidate) => candidate.if === undefined || ruleMatches(candidate.if, variables));
  return rule !== undefined && rule.when !== 'never';
}

/** The jobs of a tag pipeline that build an image, directly or through the scripts they call. */
function tagPipelineBuilds(all: Record<string, GitlabJob>): string[] {
  return Object.keys(all)
    .filter((name) => !name.startsWith('.'))
    .filter((name) => runsIn(resolved(all, name), TAG_PIPELINE))
    .filter((name) => {
      const job = resolved(all, name);
      return BUILD_STEP.test(withCalledScripts([...(job.before_script ?? []), ...(job.script ?? [])].join('\n')));
    })
    .map((name) => `${name} builds an image in a tag pipeline`);
}

/** A GitLab job timeout ("10m", "1h 30m", "45 minutes") in minutes; undefined when unset or unreadable. */
export function timeoutMinutes(timeout: string | undefined): number | undefined {
  const parts = [...(timeout ?? '').matchAll(/(\d+)\s*(h|hours?|m|min(?:ute)?s?|s|sec(?:ond)?s?)\b/g)];
  if (parts.length === 0) return undefined;
  const perUnit = (unit: string) => (unit.startsWith('h') ? 60 : unit.startsWith('m') ? 1 : 1 / 60);
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * perUnit(unit ?? 'm'), 0);
}

function productionViolations(all: Record<string, GitlabJob>, linesOf: (name: string) => string[]): string[] {
  const violations: string[] = [];
  for (const [name, candidate] of Object.entries(all).filter(([, candidate]) => envName(candidate) === 'production')) {
    const rules = candidate.rules ?? [];
    if (rules.length === 0 || rules.some((rule) => rule.when !== 'manual')) violations.push(`${name} is not manual in every rule`);
    if (candidate.allow_failure !== false) violations.push(`${name} does not block the pipeline`);
    if (candidate.resource_group !== 'production') violations.push(`${name} has no production resource group`);
    if (linesOf(name).some((line) => BUILD_STEP.test(line))) violations.push(`${name} builds an image`);
    // The digest from the job that built it, or, in a tag pipeline, the job that found it staged.
    if (!gitlabNeeds(candidate).some((need) => (need.job === 'build-image' || need.job === 'retag') && need.artifacts !== false)) violations.push(`${name} does not take the build or retag job's dotenv`);
    if (!linesOf(name).some((line) => line === 'bash scripts/ci/promote.sh production "$IMAGE_REF"')) violations.push(`${name} does not promote $IMAGE_REF`);
    // A person syncs production in Argo CD, which smoke-tests it (PostSync hook): the job only pins.
    if (WAITS_FOR_DEPLOYMENT.test(withCalledScripts(linesOf(name).join('\n')))) violations.push(`${name} waits for the manual Argo CD sync (Argo CD smoke-tests production itself)`);
    const minutes = timeoutMinutes(candidate.timeout);
    if (minutes === undefined || minutes > PRODUCTION_PIN_MINUTES) violations.push(`${name} may hold a runner over ${PRODUCTION_PIN_MINUTES} minutes`);
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
      'deploy-production waits for the manual Argo CD sync (Argo CD smoke-tests production itself)',
      `deploy-production may hold a runner over ${PRODUCTION_PIN_MINUTES} minutes`,
    ]);
  });

  it('reads GitLab job timeouts in minutes', () => {
    expect([timeoutMinutes('10m'), timeoutMinutes('1h 30m'), timeoutMinutes('45 minutes'), timeoutMinutes('90s'), timeoutMinutes(undefined), timeoutMinutes('soon')]).toEqual([10, 90, 45, 1.5, undefined, undefined]);
  });

  it('a build in a tag pipeline, in a job or through the scripts it calls; a rule can keep it out', () => {
    const candidates = parse(`
.tagged:
  rules:
    - if: $CI_COMMIT_TAG
build-on-tag:
  extends: .tagged
  script:
    - /kaniko/executor --destination "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"
checks:
  script:
    - bash scripts/ci/container-tests.sh
podman:
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH || $CI_COMMIT_TAG
  script:
    - podman build -t "$CI_REGISTRY_IMAGE" .
main-only:
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  script:
    - buildah build .
kept-out:
  rules:
    - if: $CI_COMMIT_TAG
      when: never
    - when: on_success
  script:
    - bash scripts/ci/build-image.sh buildah "$CI_REGISTRY_IMAGE" x
retag:
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - bash scripts/ci/retag.sh release "$CI_REGISTRY_IMAGE" "$CI_COMMIT_TAG"
`) as Record<string, GitlabJob>;

    expect(tagPipelineBuilds(candidates)).toEqual([
      'build-on-tag builds an image in a tag pipeline',
      'checks builds an image in a tag pipeline',
      'podman builds an image in a tag pipeline',
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
    expect(job('record-staging').interruptible).toBe(false);
    for (const [name, candidate] of visible) if (![...DEPLOYS, 'record-staging'].includes(name)) expect(candidate.interruptible, name).not.toBe(false);
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
      'container-scan': ['bash scripts/ci/scan-image.sh "$IMAGE_REF"', 'bash scripts/ci/sbom.sh "$IMAGE_REF"'],
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

  it('builds with buildah, with no layer cache (it would carry other builds\' dates), pushes the short commit, and hands on the digest as a dotenv report', () => {
    const build = job('build-image');

    expect(build.image).toMatch(/^quay\.io\/buildah\/stable:v\d+\.\d+\.\d+$/);
    expect(build.script).toEqual(['bash scripts/ci/build-image.sh buildah "$CI_REGISTRY_IMAGE" "$CI_COMMIT_SHORT_SHA"']);
    expect(build.variables?.BUILD_CACHE).toBeUndefined();
    expect(build.artifacts?.reports?.dotenv).toBe('image.env');
    expect(Object.entries(jobs).filter(([name]) => lines(name).some((line) => BUILD_STEP.test(line))).map(([name]) => name)).toEqual(['build-image']);
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

  it("attests the image's SBOM (OS packages too, by trivy in the scan job) to the digest", () => {
    expect(job('container-scan').artifacts?.paths).toEqual(['sbom-image.cdx.json']);
    expect(job('container-scan').artifacts?.reports?.cyclonedx).toBe('sbom-image.cdx.json');
    expect(gitlabNeeds(job('sign-image'))).toContainEqual({ job: 'container-scan', artifacts: true });
    expect(job('sign-image').script).toContain('bash scripts/ci/attest-sbom.sh "$IMAGE_REF" sbom-image.cdx.json');
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
    expect(production.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', when: 'manual' }]);
    expect(gitlabNeeds(production)).toEqual(expect.arrayContaining([{ job: 'deploy-staging', artifacts: false }]));
    // Everything staging waited for, production waits for too.
    expect(gitlabNeeds(production).map((need) => need.job).filter((name) => name !== 'deploy-staging').sort()).toEqual(gitlabNeeds(job('deploy-staging')).map((need) => need.job).sort());
  });

  it('records, after the staging smoke test, that staging ran the digest (the record a release tag needs)', () => {
    const record = job('record-staging');

    expect(gitlabNeeds(record)).toEqual([{ job: 'build-image', artifacts: true }, { job: 'deploy-staging', artifacts: false }]);
    expect(record.script).toEqual(['bash scripts/ci/retag.sh staged "$IMAGE_REF"']);
    expect(record.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
  });

  it('pushes promotions with GITOPS_TOKEN, since the job token cannot push', () => {
    expect(job('.deploy').before_script).toEqual(expect.arrayContaining([expect.stringMatching(/^git remote set-url --push origin ".*\$GITOPS_TOKEN@/)]));
  });

  it('never names :latest', () => {
    expect(text).not.toMatch(LATEST_TAG);
  });
});

describe('a tag pipeline', () => {
  const tagJobs = Object.keys(allJobs).filter((name) => !name.startsWith('.') && runsIn(resolved(allJobs, name), TAG_PIPELINE));

  it('builds nothing, in no job and through no script a job calls', () => {
    expect(tagPipelineBuilds(allJobs)).toEqual([]);
  });

  it('runs no check and no build again: only the retag, the production release and its chat notices (and the included scanners, which decide for themselves)', () => {
    expect(tagJobs.filter((name) => !TEMPLATE_OVERRIDES.includes(name)).sort()).toEqual(['notify-failure', 'notify-production', 'release-production', 'retag']);
    for (const name of ['lint', 'unit-tests', 'container-tests', 'build-image', 'container-scan', 'sign-image', 'deploy-staging', 'deploy-production']) expect(tagJobs, name).not.toContain(name);
  });

  it('retags the digest staging ran, by the shared script, and hands it on as a dotenv report', () => {
    const retag = job('retag');

    expect(retag.script).toEqual(['bash scripts/ci/retag.sh release "$CI_REGISTRY_IMAGE" "$CI_COMMIT_TAG"']);
    expect(retag.artifacts?.reports?.dotenv).toBe('image.env');
    expect(resolved(jobs, 'retag').before_script).toEqual(expect.arrayContaining(['bash scripts/ensure-packages.sh skopeo=skopeo update-ca-certificates=ca-certificates']));
  });

  it('promotes that digest to production by hand, blocking, one at a time, holding no runner for the sync', () => {
    const release = job('release-production');

    expect(productionViolations(jobs, lines)).toEqual([]);
    expect(gitlabNeeds(release)).toEqual([{ job: 'retag', artifacts: true }]);
    expect(release.rules).toEqual([{ if: '$CI_COMMIT_TAG', when: 'manual' }]);
    expect(release.environment).toEqual(job('deploy-production').environment);
    expect(release.script).toEqual(job('deploy-production').script);
  });
});
