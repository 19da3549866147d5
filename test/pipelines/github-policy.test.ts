/**
 * Policy over the GitHub workflows, beyond what a schema can say: pinned actions, least
 * privilege, no script injection, and the delivery rules (one digest, built once, promoted to
 * staging and then, behind a reviewer, to production; a release tag builds nothing and
 * releases the digest staging ran). Each policy is a function returning
 * its violations; the tests run it on the real workflows (no violations) and on a small bad
 * example (the violation is found), so no policy passes by never looking.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BUILD_STEP, type Job, LATEST_TAG, PRODUCTION_PIN_MINUTES, ROOT, type Step, WAITS_FOR_DEPLOYMENT, WORKFLOW_FILES, type Workflow, environmentOf, needsOf, usesLines, withCalledScripts } from './helpers.ts';

const texts = new Map(WORKFLOW_FILES.map((file) => [basename(file), readFileSync(file, 'utf8')]));
const workflows = new Map([...texts].map(([name, text]) => [name, parse(text) as Workflow]));
const ci = workflows.get('ci.yml') as Workflow;
const release = workflows.get('release.yml') as Workflow;
const releaseTag = workflows.get('release-tag.yml') as Workflow;
const codeql = workflows.get('codeql.yml') as Workflow;

function sample(text: string): Workflow {
  return parse(text) as Workflow;
}

function jobs(workflow: Workflow): [string, Job][] {
  return Object.entries(workflow.jobs);
}

function steps(job: Job): Step[] {
  return job.steps ?? [];
}

/** Everything a job executes or configures, as text: runs, uses, their inputs and env. */
function jobText(job: Job): string {
  return JSON.stringify(job.steps ?? []);
}

// ---- the policies ----

const PINNED = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/;
const VERSION_COMMENT = /^v\d+(\.\d+){0,2}\b/;

/** `uses:` pinned to a full commit SHA with a `# vX.Y.Z` comment; local actions exempt. */
function unpinnedActions(text: string): string[] {
  return usesLines(text)
    .filter(({ ref }) => !ref.startsWith('./'))
    .filter(({ ref, comment }) => !PINNED.test(ref) || comment === undefined || !VERSION_COMMENT.test(comment))
    .map(({ ref, comment }) => `${ref} # ${comment ?? '(no comment)'}`);
}

/** One action, one pin: the same action at two SHAs means an update was half done. */
function inconsistentPins(allTexts: string[]): string[] {
  const pins = new Map<string, Set<string>>();
  for (const { ref, comment } of allTexts.flatMap(usesLines)) {
    const [action = '', sha = ''] = ref.split('@');
    pins.set(action, (pins.get(action) ?? new Set()).add(`${sha} ${comment ?? ''}`));
  }
  return [...pins].filter(([, seen]) => seen.size > 1).map(([action, seen]) => `${action}: ${[...seen].join(' / ')}`);
}

function isReadOnly(permissions: Workflow['permissions']): boolean {
  if (permissions === undefined) return false;
  if (typeof permissions === 'string') return permissions === 'read-all';
  return Object.values(permissions).every((level) => level === 'read' || level === 'none');
}

/** Which jobs may hold which write permission, and nobody else. */
const WRITERS: Record<string, string[]> = {
  packages: ['build', 'sign', 'attest', 'chart', 'sbom', 'record-staging', 'retag'],
  'id-token': ['sign', 'attest', 'chart', 'sbom', 'plan', 'apply-staging', 'apply-production'],
  attestations: ['attest'],
  // codeql.yml: the analysis is uploaded to code scanning.
  'security-events': ['analyze'],
  contents: ['deploy-staging', 'deploy-production'],
  // infra.yml: the Terraform plan is posted on the pull request.
  'pull-requests': ['plan'],
};

function permissionViolations(workflow: Workflow): string[] {
  const violations = isReadOnly(workflow.permissions) ? [] : ['the workflow-level permissions are missing or not read-only'];
  for (const [name, job] of jobs(workflow)) {
    const permissions = job.permissions;
    if (typeof permissions === 'string') {
      if (permissions !== 'read-all') violations.push(`${name}: permissions: ${permissions}`);
      continue;
    }
    for (const [scope, level] of Object.entries(permissions ?? {})) {
      if (level === 'write' && !(WRITERS[scope] ?? []).includes(name)) violations.push(`${name}: ${scope}: write`);
    }
  }
  return violations;
}

/** A job that pushes, signs, attests or promotes must say so in its own permissions. */
function undeclaredWriters(workflow: Workflow): string[] {
  const needs: [RegExp, string][] = [
    [/docker\/build-push-action@/, 'packages'],
    [/scripts\/ci\/retag\.sh/, 'packages'],
    [/cosign sign/, 'id-token'],
    [/scripts\/ci\/attest-sbom\.sh|cosign attest/, 'id-token'],
    [/actions\/attest-build-provenance@/, 'attestations'],
    [/scripts\/ci\/promote\.sh/, 'contents'],
  ];
  const violations: string[] = [];
  for (const [name, job] of jobs(workflow)) {
    for (const [pattern, scope] of needs) {
      if (!pattern.test(jobText(job))) continue;
      const granted = typeof job.permissions === 'object' ? job.permissions[scope] : undefined;
      if (granted !== 'write') violations.push(`${name} needs ${scope}: write in its own permissions`);
    }
  }
  return violations;
}

/** `${{ }}` never inside `run:`; values reach scripts through `env:` (no script injection). */
function expressionsInRun(workflow: Workflow): string[] {
  return jobs(workflow).flatMap(([name, job]) =>
    steps(job)
      .filter((step) => step.run !== undefined && /\$\{\{/.test(step.run))
      .map((step) => `${name}: ${step.run ?? ''}`),
  );
}

const UNTRUSTED = /\$\{\{\s*(github\.event\.|github\.head_ref|inputs\.)/;

function untrustedInRun(workflow: Workflow): string[] {
  return jobs(workflow).flatMap(([name, job]) => steps(job).filter((step) => UNTRUSTED.test(step.run ?? '')).map(() => name));
}

function triggers(workflow: Workflow): string[] {
  const on = workflow.on;
  return typeof on === 'string' ? [on] : Array.isArray(on) ? on : Object.keys(on);
}

/** Whether a push of a tag starts the workflow (a push filtered on branches only does not). */
function runsOnTags(workflow: Workflow): boolean {
  const on = workflow.on;
  const tagEvents = ['push', 'create', 'release'];
  if (typeof on === 'string') return tagEvents.includes(on);
  if (Array.isArray(on)) return on.some((event) => tagEvents.includes(event));
  if ('create' in on || 'release' in on) return true;
  if (!('push' in on)) return false;
  const push = on.push as Record<string, unknown> | null;
  if (push === null) return true;
  if (push.tags !== undefined || push['tags-ignore'] !== undefined) return true;
  return push.branches === undefined && push['branches-ignore'] === undefined;
}

/**
 * A tag releases a digest main built; it never builds one. Every job of every workflow a tag
 * starts is checked, with the scripts its steps call (followed through npm scripts).
 */
function tagPathBuilds(all: Map<string, Workflow>): string[] {
  return [...all]
    .filter(([, workflow]) => runsOnTags(workflow))
    .flatMap(([file, workflow]) => jobs(workflow).filter(([, job]) => BUILD_STEP.test(withCalledScripts(jobText(job)))).map(([name]) => `${file}: ${name} builds an image on a tag`));
}

/** The jobs that promote to an environment, by the promote.sh call in their steps. */
function promotions(workflow: Workflow): { name: string; job: Job; environment: string; step: Step }[] {
  return jobs(workflow).flatMap(([name, job]) =>
    steps(job).flatMap((step) => {
      const match = /scripts\/ci\/promote\.sh\s+(\S+)/.exec(step.run ?? '');
      return match?.[1] ? [{ name, job, environment: match[1], step }] : [];
    }),
  );
}

/**
 * Production is synced by a person in Argo CD, which smoke-tests it in a PostSync hook
 * (deploy/kubernetes/components/smoke-test): the job only pins it, so it neither waits for the
 * sync nor smoke-tests, and a short timeout says so.
 */
function productionHoldsNoRunner(name: string, job: Job): string[] {
  const violations: string[] = [];
  if (WAITS_FOR_DEPLOYMENT.test(withCalledScripts(jobText(job)))) violations.push(`${name} waits for the manual Argo CD sync (Argo CD smoke-tests production itself)`);
  const timeout = job['timeout-minutes'];
  if (timeout === undefined || timeout > PRODUCTION_PIN_MINUTES) violations.push(`${name} may hold a runner over ${PRODUCTION_PIN_MINUTES} minutes`);
  return violations;
}

function deliveryViolations(workflow: Workflow): string[] {
  const violations: string[] = [];
  for (const { name, job, environment, step } of promotions(workflow)) {
    if (environmentOf(job) !== environment) violations.push(`${name} promotes ${environment} outside environment: ${environment}`);
    if (BUILD_STEP.test(jobText(job))) violations.push(`${name} builds an image`);
    // The digest comes from the job that built it, or, on a tag, the job that found it staged.
    const source = workflow.jobs.retag === undefined ? 'build' : 'retag';
    const env = step.env ?? {};
    const output = (key: string) => new RegExp(`^\\$\\{\\{\\s*needs\\.${source}\\.outputs\\.${key}\\s*\\}\\}$`);
    if (!output('digest').test(env.DIGEST ?? '') || !output('image').test(env.IMAGE ?? '')) {
      violations.push(`${name} does not promote the ${source} job's image and digest`);
    }
    if (!needsOf(job).includes(source)) violations.push(`${name} does not need the ${source} job`);
    const concurrency = job.concurrency;
    if (typeof concurrency !== 'object' || concurrency['cancel-in-progress'] !== false || concurrency.group !== `deploy-${environment}`) {
      violations.push(`${name} has no non-cancelling deploy-${environment} concurrency group`);
    }
    if (environment === 'production') violations.push(...productionHoldsNoRunner(name, job));
  }
  return violations;
}

// ---- the tests ----

describe('every workflow', () => {
  it.each([...texts.keys()])('%s pins every action to a commit SHA with its version in a comment', (name) => {
    expect(unpinnedActions(texts.get(name) ?? '')).toEqual([]);
  });

  it('pins each action to one SHA across the workflows', () => {
    expect(inconsistentPins([...texts.values()])).toEqual([]);
  });

  it.each([...workflows.keys()])('%s is read-only at the top and grants writes only to the jobs that need them', (name) => {
    const workflow = workflows.get(name) as Workflow;

    expect(permissionViolations(workflow)).toEqual([]);
    expect(undeclaredWriters(workflow)).toEqual([]);
  });

  it.each([...workflows.keys()])('%s expands no expression inside run: (untrusted input goes through env:)', (name) => {
    const workflow = workflows.get(name) as Workflow;

    expect(expressionsInRun(workflow)).toEqual([]);
    expect(untrustedInRun(workflow)).toEqual([]);
  });

  it.each([...workflows.keys()])('%s never runs on pull_request_target and never names :latest', (name) => {
    expect(triggers(workflows.get(name) as Workflow)).not.toContain('pull_request_target');
    expect(texts.get(name)).not.toMatch(LATEST_TAG);
  });

  it('sets up Node.js 24 with the npm cache wherever it sets up Node.js', () => {
    const setups = [...workflows.values()].flatMap((workflow) => jobs(workflow).flatMap(([, job]) => steps(job))).filter((step) => step.uses?.startsWith('actions/setup-node@'));

    expect(setups.length).toBeGreaterThan(5);
    for (const setup of setups) expect(String(setup.with?.['node-version'])).toBe('24');
    expect(setups.filter((setup) => setup.with?.cache === 'npm').length).toBe(setups.length - 1); // audit needs no install
  });
});

describe('the policies find what they look for', () => {
  const bad = sample(`
on: [push, pull_request_target]
permissions: write-all
jobs:
  deploy-production:
    runs-on: ubuntu-24.04
    permissions:
      contents: write
      packages: write
    steps:
      - uses: actions/checkout@v4
      - uses: docker/setup-buildx-action@8d2750c68a42422c14e847fe6c8ac0403b4cbd6f
      - run: echo "\${{ github.event.pull_request.title }}"
      - run: bash scripts/ci/promote.sh production "$REF"
        env:
          REF: ghcr.io/acme/shipshape:latest
      - run: bash scripts/ci/smoke.sh "$URL"
`);
  const badText = 'steps:\n  - uses: actions/checkout@v4\n  - uses: docker/setup-buildx-action@8d2750c68a42422c14e847fe6c8ac0403b4cbd6f\n';

  it('unpinned actions and pins without a version comment', () => {
    expect(unpinnedActions(badText)).toEqual(['actions/checkout@v4 # (no comment)', 'docker/setup-buildx-action@8d2750c68a42422c14e847fe6c8ac0403b4cbd6f # (no comment)']);
    expect(inconsistentPins(['- uses: a/b@' + '1'.repeat(40) + ' # v1', '- uses: a/b@' + '2'.repeat(40) + ' # v2'])).toHaveLength(1);
  });

  it('write permissions where they do not belong', () => {
    expect(permissionViolations(bad)).toEqual(['the workflow-level permissions are missing or not read-only', 'deploy-production: packages: write']);
    expect(undeclaredWriters(sample('jobs:\n  sign:\n    steps:\n      - run: cosign sign --yes "$REF"\n'))).toEqual(['sign needs id-token: write in its own permissions']);
  });

  it('expressions in run:, the untrusted ones especially', () => {
    expect(expressionsInRun(bad)).toHaveLength(1);
    expect(untrustedInRun(bad)).toEqual(['deploy-production']);
  });

  it('a build on the tag path, in a step or through the scripts a step runs', () => {
    const tagged = (steps: string) => sample(`on:\n  push:\n    tags: ["v*"]\njobs:\n  release:\n    runs-on: ubuntu-24.04\n    steps:\n${steps}`);
    const candidates = new Map([
      ['buildx.yml', tagged('      - run: docker buildx build --push -t "$IMAGE" .\n')],
      ['action.yml', tagged('      - uses: docker/build-push-action@263435318d21b8e681c14492fe198d362a7d2c83 # v6.18.0\n')],
      ['kaniko.yml', tagged('      - run: /kaniko/executor --destination "$IMAGE"\n')],
      ['podman.yml', tagged('      - run: podman build -t "$IMAGE" .\n')],
      ['script.yml', tagged('      - run: bash scripts/ci/container-tests.sh\n')],
      ['retag.yml', tagged('      - run: bash scripts/ci/retag.sh release "$IMAGE" "$GITHUB_REF_NAME"\n')],
      ['main-only.yml', sample('on:\n  push:\n    branches: [main]\njobs:\n  build:\n    steps:\n      - run: docker build .\n')],
      ['any-push.yml', sample('on: push\njobs:\n  build:\n    steps:\n      - run: bash scripts/ci/build-image.sh docker x y\n')],
    ]);

    expect(tagPathBuilds(candidates)).toEqual([
      'buildx.yml: release builds an image on a tag',
      'action.yml: release builds an image on a tag',
      'kaniko.yml: release builds an image on a tag',
      'podman.yml: release builds an image on a tag',
      'script.yml: release builds an image on a tag',
      'any-push.yml: build builds an image on a tag',
    ]);
  });

  it('a production promotion outside its environment, building, by tag, and cancellable', () => {
    expect(triggers(bad)).toContain('pull_request_target');
    expect(deliveryViolations(bad)).toEqual([
      'deploy-production promotes production outside environment: production',
      'deploy-production builds an image',
      "deploy-production does not promote the build job's image and digest",
      'deploy-production does not need the build job',
      'deploy-production has no non-cancelling deploy-production concurrency group',
      'deploy-production waits for the manual Argo CD sync (Argo CD smoke-tests production itself)',
      `deploy-production may hold a runner over ${PRODUCTION_PIN_MINUTES} minutes`,
    ]);
  });

  it('a production job that waits for the sync through a script, or runs long', () => {
    const waiting = sample('jobs:\n  deploy-production:\n    timeout-minutes: 45\n    steps:\n      - run: bash scripts/ci/smoke.sh "$URL" "$SHA"\n');
    const polling = sample('jobs:\n  deploy-production:\n    timeout-minutes: 10\n    steps:\n      - run: npm exec -- node scripts/ci/wait-for-version.ts "$URL" "$SHA" 1800\n');

    expect(productionHoldsNoRunner('deploy-production', waiting.jobs['deploy-production'] as Job)).toEqual([
      'deploy-production waits for the manual Argo CD sync (Argo CD smoke-tests production itself)',
      `deploy-production may hold a runner over ${PRODUCTION_PIN_MINUTES} minutes`,
    ]);
    expect(productionHoldsNoRunner('deploy-production', polling.jobs['deploy-production'] as Job)).toEqual(['deploy-production waits for the manual Argo CD sync (Argo CD smoke-tests production itself)']);
  });
});

describe('ci.yml', () => {
  it('runs on pull requests and pushes, superseding only pull-request runs', () => {
    expect(triggers(ci).sort()).toEqual(['pull_request', 'push']);
    expect(ci.concurrency).toEqual({ group: 'ci-${{ github.workflow }}-${{ github.ref }}', 'cancel-in-progress': "${{ github.event_name == 'pull_request' }}" });
  });

  it('has a job for every check .ci/run runs, each through its shared script', () => {
    const calls = Object.fromEntries(jobs(ci).map(([name, job]) => [name, steps(job).flatMap((step) => /scripts\/ci\/[\w-]+\.sh.*/.exec(step.run ?? '')?.[0] ?? [])]));

    expect(calls).toEqual({
      lint: ['scripts/ci/lint.sh'],
      'unit-tests': ['scripts/ci/unit-tests.sh'],
      'postgres-tests': ['scripts/ci/postgres-tests.sh'],
      conformance: ['scripts/ci/conformance.sh'],
      'scale-tests': ['scripts/ci/scale-tests.sh'],
      'bench-gate': ['scripts/ci/bench-gate.sh'],
      'browser-tests': ['scripts/ci/browser-tests.sh sqlite'],
      'browser-tests-postgres': ['scripts/ci/browser-tests.sh postgres'],
      'deploy-checks': ['scripts/ci/deploy-checks.sh'],
      'pipeline-checks': ['scripts/ci/pipeline-checks.sh'],
      'container-tests': ['scripts/ci/container-tests.sh'],
      'container-build': ['scripts/ci/build-image.sh docker shipshape ci'],
      'cluster-tests': ['scripts/ci/cluster-tests.sh'],
      'infra-checks': ['scripts/ci/infra-checks.sh'],
      // Not a check: reports a failure on main to the chat (test/pipelines/notify.test.ts).
      'notify-failure': ['scripts/ci/notify.sh failed'],
    });
  });

  it('gives the PostgreSQL jobs a postgres:17 service with a health check, and its admin URL', () => {
    for (const name of ['postgres-tests', 'conformance', 'scale-tests', 'cluster-tests', 'browser-tests-postgres']) {
      const job = ci.jobs[name] as Job;
      const service = job.services?.postgres;

      expect(service?.image).toBe('postgres:17');
      expect(service?.options).toMatch(/--health-cmd "pg_isready[^"]*"/);
      expect(job.env?.TEST_DATABASE_URL).toBe(`postgres://postgres:${service?.env?.POSTGRES_PASSWORD}@localhost:5432/postgres`);
    }
  });

  it('keeps the JUnit results and coverage of the unit tests as an artifact, even when they fail', () => {
    const upload = steps(ci.jobs['unit-tests'] as Job).find((step) => step.uses?.startsWith('actions/upload-artifact@'));

    expect(upload?.if).toBe('${{ !cancelled() }}');
    expect(String(upload?.with?.path).split('\n')).toEqual(expect.arrayContaining(['test-results/junit-sqlite.xml', 'coverage/cobertura-coverage.xml', 'coverage/lcov.info']));
  });

  it('builds the image without pushing it', () => {
    const build = steps(ci.jobs['container-build'] as Job).find((step) => step.run?.includes('build-image.sh'));

    expect(build?.env?.PUSH).toBe('false');
    expect(permissionViolations(ci)).toEqual([]);
  });
});

describe('release.yml', () => {
  const build = release.jobs.build as Job;
  const step = (job: string, uses: string) => steps(release.jobs[job] as Job).find((candidate) => candidate.uses?.startsWith(uses));

  it('runs on pushes to main, not for promotion commits nor for tags (release-tag.yml)', () => {
    expect(release.on).toEqual({ push: { branches: ['main'], 'paths-ignore': ['deploy/argocd/application-*.yaml'] } });
    expect(runsOnTags(release)).toBe(false);
  });

  it('builds once, through the shared reproducible build, tagged sha-<short> (never latest), with a registry cache, and outputs the digest', () => {
    const push = steps(build).find((candidate) => candidate.id === 'push');

    expect(push?.run).toContain('BUILD_CACHE=$name:buildcache bash scripts/ci/build-image.sh docker "$name" "sha-${GITHUB_SHA::7}"');
    expect(build.outputs).toEqual({ image: '${{ steps.push.outputs.image }}', digest: '${{ steps.push.outputs.digest }}' });
    expect(jobs(release).filter(([, job]) => BUILD_STEP.test(jobText(job))).map(([name]) => name)).toEqual(['build']);
  });

  it('gates on trivy (HIGH and CRITICAL with a fix), npm audit, an SBOM, a keyless signature and provenance, all on the digest', () => {
    const digest = '${{ needs.build.outputs.image }}@${{ needs.build.outputs.digest }}';
    const attest = step('attest', 'actions/attest-build-provenance@');

    expect(step('scan', 'aquasecurity/trivy-action@')?.with).toMatchObject({ 'image-ref': digest, 'trivy-config': 'trivy.yaml' });
    expect(jobText(release.jobs.audit as Job)).toContain('scripts/ci/audit.sh');
    expect(jobText(release.jobs.sbom as Job)).toContain('scripts/ci/sbom.sh');
    expect(step('sbom', 'aquasecurity/trivy-action@')?.with).toMatchObject({ 'image-ref': digest, 'trivy-config': 'trivy-sbom.yaml', format: 'cyclonedx', output: 'sbom-image.cdx.json' });
    expect(steps(release.jobs.sign as Job).map((candidate) => candidate.run).filter(Boolean)).toEqual(['cosign sign --yes "${IMAGE}@${DIGEST}"']);
    expect(step('sign', 'sigstore/cosign-installer@')).toBeDefined();
    expect(attest?.with).toEqual({ 'subject-name': '${{ needs.build.outputs.image }}', 'subject-digest': '${{ needs.build.outputs.digest }}', 'push-to-registry': true });
  });

  it("attests the image's SBOM (OS packages too, by trivy) to the digest with cosign, after generating it", () => {
    const sbom = steps(release.jobs.sbom as Job);
    const order = (predicate: (candidate: Step) => boolean) => sbom.findIndex(predicate);
    const attestStep = sbom.find((candidate) => candidate.run?.includes('attest-sbom.sh'));

    expect(attestStep?.run).toBe('bash scripts/ci/attest-sbom.sh "${IMAGE}@${DIGEST}" sbom-image.cdx.json');
    expect(attestStep?.env).toEqual({ IMAGE: '${{ needs.build.outputs.image }}', DIGEST: '${{ needs.build.outputs.digest }}' });
    expect(order((candidate) => candidate.uses?.startsWith('aquasecurity/trivy-action@') ?? false)).toBeLessThan(order((candidate) => candidate === attestStep));
    expect(order((candidate) => candidate.uses?.startsWith('sigstore/cosign-installer@') ?? false)).toBeLessThan(order((candidate) => candidate === attestStep));
    expect((release.jobs.sbom as Job).permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write' });
  });

  it('records, after the staging smoke test, that staging ran the digest (the record a release tag needs)', () => {
    const record = release.jobs['record-staging'] as Job;
    const retag = steps(record).find((candidate) => candidate.run?.includes('retag.sh'));

    expect(needsOf(record)).toEqual(['build', 'deploy-staging']);
    expect(retag?.run).toBe('bash scripts/ci/retag.sh staged "${IMAGE}@${DIGEST}"');
    expect(retag?.env).toEqual({ IMAGE: '${{ needs.build.outputs.image }}', DIGEST: '${{ needs.build.outputs.digest }}' });
  });

  it('promotes to staging only after every gate, then smoke-tests it at the commit it built', () => {
    const staging = release.jobs['deploy-staging'] as Job;

    expect(needsOf(staging).sort()).toEqual(['attest', 'audit', 'build', 'sbom', 'scan', 'sign']);
    expect(staging.environment).toEqual({ name: 'staging', url: '${{ vars.STAGING_URL }}' });
    expect(steps(staging).map((candidate) => candidate.run).filter((run) => run?.includes('scripts/ci/'))).toEqual([
      'bash scripts/ci/promote.sh staging "${IMAGE}@${DIGEST}"',
      'bash scripts/ci/smoke.sh "$STAGING_URL" "$GITHUB_SHA"',
    ]);
  });

  it('promotes the same digest to production only after staging, behind the production environment', () => {
    const production = release.jobs['deploy-production'] as Job;

    expect(needsOf(production)).toEqual(['build', 'deploy-staging']);
    expect(production.environment).toEqual({ name: 'production', url: '${{ vars.PRODUCTION_URL }}' });
    expect(jobs(release).filter(([, job]) => environmentOf(job) === 'production').map(([name]) => name)).toEqual(['deploy-production']);
    expect(promotions(release).map(({ name, environment }) => `${name}:${environment}`)).toEqual(['deploy-staging:staging', 'deploy-production:production']);
    expect(deliveryViolations(release)).toEqual([]);
  });

  it('says where the production reviewers are configured', () => {
    expect(texts.get('release.yml')).toMatch(/Required reviewers on the production environment/);
  });
});

describe('release-tag.yml', () => {
  it('is the only workflow a tag starts, and no job on it builds an image, even through a script', () => {
    expect([...workflows].filter(([, workflow]) => runsOnTags(workflow)).map(([name]) => name)).toEqual(['release-tag.yml']);
    expect(releaseTag.on).toEqual({ push: { tags: ['v*'] } });
    expect(tagPathBuilds(workflows)).toEqual([]);
  });

  it('retags the digest staging ran, by the shared script, and hands it on', () => {
    const retag = releaseTag.jobs.retag as Job;

    expect(steps(retag).find((candidate) => candidate.id === 'retag')?.run).toBe('bash scripts/ci/retag.sh release "ghcr.io/${GITHUB_REPOSITORY,,}" "$GITHUB_REF_NAME"');
    expect(retag.outputs).toEqual({ image: '${{ steps.retag.outputs.image }}', digest: '${{ steps.retag.outputs.digest }}' });
  });

  it('promotes that digest to production behind the production environment, holding no runner for the sync', () => {
    const production = releaseTag.jobs['deploy-production'] as Job;

    expect(Object.keys(releaseTag.jobs)).toEqual(['retag', 'deploy-production', 'notify-production', 'notify-failure']);
    expect(needsOf(production)).toEqual(['retag']);
    expect(production.environment).toEqual({ name: 'production', url: '${{ vars.PRODUCTION_URL }}' });
    expect(promotions(releaseTag).map(({ name, environment }) => `${name}:${environment}`)).toEqual(['deploy-production:production']);
    expect(deliveryViolations(releaseTag)).toEqual([]);
  });
});

describe('codeql.yml', () => {
  it('analyses javascript-typescript with CodeQL on pull requests, main and weekly, uploading to code scanning', () => {
    const analyze = codeql.jobs.analyze as Job;
    const init = steps(analyze).find((candidate) => candidate.uses?.startsWith('github/codeql-action/init@'));
    const analysis = steps(analyze).find((candidate) => candidate.uses?.startsWith('github/codeql-action/analyze@'));

    expect(triggers(codeql).sort()).toEqual(['pull_request', 'push', 'schedule']);
    expect(init?.with).toMatchObject({ languages: 'javascript-typescript', 'build-mode': 'none' });
    expect(analysis?.with?.category).toBe('/language:javascript-typescript');
    expect(analyze.permissions).toEqual({ contents: 'read', 'security-events': 'write', actions: 'read' });
    expect(init?.uses?.split('@')[1]).toBe(analysis?.uses?.split('@')[1]);
  });
});

describe('the delivery scripts the workflows call exist', () => {
  // codeql.yml runs GitHub's CodeQL action and no script of ours.
  it.each([...texts.keys()].filter((name) => name !== 'codeql.yml'))('%s', (name) => {
    const called = [...(texts.get(name) ?? '').matchAll(/scripts\/(?:ci|infra)\/[\w-]+\.sh/g)].map((match) => match[0]);

    expect(called.length).toBeGreaterThan(0);
    for (const script of called) expect(() => readFileSync(join(ROOT, script))).not.toThrow();
  });
});
