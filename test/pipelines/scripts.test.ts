/**
 * The shared pipeline scripts, run for real where they can run here: promote.sh against
 * scratch Git repositories (with and without a remote to push to), smoke.sh against the app
 * listening in this process, sbom.sh producing a CycloneDX document; and the ones that drive
 * tools this machine lacks (docker, buildah, trivy) or suites too heavy to nest here, against
 * stand-in commands that record how they were called.
 */
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PinError, pinEnvironment, readPin } from '../../scripts/ci/pin-environment.ts';
import { SetImageError, setImage } from '../../scripts/ci/set-image.ts';
import { createListeningTestApp, type TestApp } from '../helpers/app.ts';
import { CI_SCRIPT_DIR, ROOT, type Result, run, stubCommands, stubLines, tempDir } from './helpers.ts';

const DIGEST_A = `sha256:${'a1'.repeat(32)}`;
const DIGEST_B = `sha256:${'b2'.repeat(32)}`;
const IMAGE = 'ghcr.io/acme/shipshape';

const ZERO_COMMIT = '0'.repeat(40);
const ZERO_IMAGE = `ghcr.io/your-org/shipshape@sha256:${'0'.repeat(64)}`;

/** An Application shaped like deploy/argocd/application-*.yaml: comments, the pin, the rest. */
const APPLICATION = `# Staging runs what the release pipeline last promoted to it.
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: shipshape-staging
  namespace: argocd
spec:
  project: shipshape
  source:
    repoURL: https://github.com/your-org/shipshape.git
    # Pinned by scripts/ci/promote.sh.
    targetRevision: "${ZERO_COMMIT}"
    path: deploy/kubernetes/overlays/staging
    kustomize:
      images:
        - shipshape=${ZERO_IMAGE}
        - busybox=docker.io/library/busybox:1.36 # an unrelated image, left alone
  destination:
    server: https://kubernetes.default.svc
    namespace: shipshape-staging
`;

/** What the pipelines set and the scripts read: unset, so a test run inside CI sees none of it. */
const PIPELINE_VARIABLES = [
  'CI', 'GIT_SHA', 'APP_VERSION', 'CREATED', 'SOURCE_URL', 'SOURCE_DATE_EPOCH', 'NODE_IMAGE', 'BUILD_CACHE', 'PUSH', 'IMAGE_ENV', 'GITHUB_OUTPUT', 'SBOM_DIR', 'SMOKE_TIMEOUT',
  'TEST_DATABASE_URL', 'CHROMIUM_PATH', 'GITHUB_SHA', 'GITHUB_REF_TYPE', 'GITHUB_REF_NAME', 'GITHUB_REPOSITORY', 'GITHUB_SERVER_URL',
  'CI_COMMIT_SHA', 'CI_COMMIT_TAG', 'CI_COMMIT_TIMESTAMP', 'CI_PROJECT_URL', 'CI_DEFAULT_BRANCH',
  'PROMOTE_PUSH', 'PROMOTE_REVISION', 'PROMOTE_BRANCH', 'PROMOTE_REMOTE', 'PROMOTE_REPO', 'PROMOTE_GIT_NAME', 'PROMOTE_GIT_EMAIL',
];
const hermetic = Object.fromEntries(PIPELINE_VARIABLES.map((name) => [name, undefined]));

const bash = (script: string, args: string[], env: Record<string, string | undefined> = {}): Promise<Result> =>
  run('bash', [join(CI_SCRIPT_DIR, script), ...args], { env: { ...hermetic, ...env } });

const scratch: string[] = [];
afterAll(() => {
  for (const directory of scratch) rmSync(directory, { recursive: true, force: true });
});

/** A temp dir removed after the file's tests. */
function scratchDir(prefix: string): string {
  const directory = tempDir(prefix);
  scratch.push(directory);
  return directory;
}

function stubs(commands: Record<string, string>): { bin: string; log: string; path: string } {
  const stub = stubCommands(commands);
  scratch.push(stub.bin);
  return { ...stub, path: `${stub.bin}:${process.env.PATH ?? ''}` };
}

const git = (cwd: string, ...args: string[]): Promise<Result> => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd });

async function gitOut(cwd: string, ...args: string[]): Promise<string> {
  const result = await git(cwd, ...args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}

/** A Git repository with both Applications committed on main; returns it and that commit. */
async function applicationRepository(): Promise<{ repository: string; commit: string }> {
  const repository = scratchDir('gitops');
  mkdirSync(join(repository, 'deploy/argocd'), { recursive: true });
  writeFileSync(join(repository, 'deploy/argocd/application-staging.yaml'), APPLICATION);
  writeFileSync(join(repository, 'deploy/argocd/application-production.yaml'), APPLICATION.replaceAll('staging', 'production'));
  await gitOut(repository, 'init', '--quiet', '--initial-branch', 'main');
  await gitOut(repository, 'add', '--all');
  await gitOut(repository, 'commit', '--quiet', '--message', 'staging application');
  return { repository, commit: await gitOut(repository, 'rev-parse', 'HEAD') };
}

const applicationIn = (repository: string, environment = 'staging') => readFileSync(join(repository, `deploy/argocd/application-${environment}.yaml`), 'utf8');
const pinned = (commit: string, ref: string) => APPLICATION.replace(ZERO_COMMIT, commit).replace(ZERO_IMAGE, ref);

describe('set-image.ts', () => {
  const OVERLAY_IMAGE = `images:\n  - name: shipshape\n    newName: ghcr.io/your-org/shipshape\n    digest: sha256:${'0'.repeat(64)}\n  - name: busybox # left alone\n    newTag: "1.36"\n`;

  it('pins the entry by digest, changing no other line', () => {
    const edit = setImage(OVERLAY_IMAGE, 'shipshape', `${IMAGE}@${DIGEST_A}`);

    expect(edit.changed).toBe(true);
    expect(edit.text).toBe(OVERLAY_IMAGE.replace('ghcr.io/your-org/shipshape', IMAGE).replace(`sha256:${'0'.repeat(64)}`, DIGEST_A));
  });

  it('reports no change when the digest is already there', () => {
    const once = setImage(OVERLAY_IMAGE, 'shipshape', `${IMAGE}@${DIGEST_A}`).text;

    expect(setImage(once, 'shipshape', `${IMAGE}@${DIGEST_A}`)).toEqual({ text: once, changed: false });
  });

  it('drops a tag (a digest and a tag would contradict each other) and adds a missing entry', () => {
    const tagged = setImage('images:\n  - name: shipshape\n    newTag: "1.0"\n', 'shipshape', `${IMAGE}@${DIGEST_A}`).text;
    const added = setImage('kind: Kustomization\n', 'shipshape', `${IMAGE}@${DIGEST_A}`).text;

    expect(tagged).toBe(`images:\n  - name: shipshape\n    newName: ${IMAGE}\n    digest: ${DIGEST_A}\n`);
    expect(added).toBe(`kind: Kustomization\nimages:\n  - name: shipshape\n    newName: ${IMAGE}\n    digest: ${DIGEST_A}\n`);
  });

  it.each([`${IMAGE}:latest`, `${IMAGE}:1.2.3`, `${IMAGE}@sha256:abc`, `${IMAGE}@${DIGEST_A.toUpperCase()}`, `${IMAGE} @${DIGEST_A}`])('refuses %s', (ref) => {
    expect(() => setImage(OVERLAY_IMAGE, 'shipshape', ref)).toThrow(SetImageError);
  });

  it('refuses a file that is not a Kustomization', () => {
    expect(() => setImage('- a list\n', 'shipshape', `${IMAGE}@${DIGEST_A}`)).toThrow(SetImageError);
    expect(() => setImage('images: {}\n', 'shipshape', `${IMAGE}@${DIGEST_A}`)).toThrow('images: is not a list');
  });
});

describe('pin-environment.ts', () => {
  const COMMIT = 'c3'.repeat(20);

  it('pins the commit and the image, changing no other line', () => {
    const edit = pinEnvironment(APPLICATION, COMMIT, 'shipshape', `${IMAGE}@${DIGEST_A}`);

    expect(edit.changed).toBe(true);
    expect(edit.text).toBe(pinned(COMMIT, `${IMAGE}@${DIGEST_A}`));
    expect(readPin(edit.text)).toEqual({ revision: COMMIT, images: [`shipshape=${IMAGE}@${DIGEST_A}`, 'busybox=docker.io/library/busybox:1.36'] });
  });

  it('reports no change when the pin is already there, and a change when only the commit moves', () => {
    const once = pinEnvironment(APPLICATION, COMMIT, 'shipshape', `${IMAGE}@${DIGEST_A}`).text;

    expect(pinEnvironment(once, COMMIT, 'shipshape', `${IMAGE}@${DIGEST_A}`)).toEqual({ text: once, changed: false });
    expect(pinEnvironment(once, 'd4'.repeat(20), 'shipshape', `${IMAGE}@${DIGEST_A}`).changed).toBe(true);
  });

  it('quotes the commit, so an id of digits stays a string', () => {
    const digits = '1234567890'.repeat(4);
    const edit = pinEnvironment(APPLICATION, digits, 'shipshape', `${IMAGE}@${DIGEST_A}`);

    expect(edit.text).toContain(`targetRevision: "${digits}"`);
    expect(readPin(edit.text).revision).toBe(digits);
  });

  it('adds the overrides to an Application that has none', () => {
    const bare = APPLICATION.replace(/ {4}kustomize:\n(?: {6}.*\n)+/, '');
    const edit = pinEnvironment(bare, COMMIT, 'shipshape', `${IMAGE}@${DIGEST_A}`);

    expect(readPin(edit.text)).toEqual({ revision: COMMIT, images: [`shipshape=${IMAGE}@${DIGEST_A}`] });
  });

  it.each([
    ['a branch', 'main', `${IMAGE}@${DIGEST_A}`],
    ['a short commit id', 'c3c3c3c', `${IMAGE}@${DIGEST_A}`],
    ['a tag instead of a digest', COMMIT, `${IMAGE}:1.2.3`],
    ['a truncated digest', COMMIT, `${IMAGE}@sha256:abc`],
  ])('refuses %s', (_name, revision, ref) => {
    expect(() => pinEnvironment(APPLICATION, revision, 'shipshape', ref)).toThrow(PinError);
  });

  it('refuses a file that is not an Argo CD Application', () => {
    expect(() => pinEnvironment('kind: Kustomization\n', COMMIT, 'shipshape', `${IMAGE}@${DIGEST_A}`)).toThrow('not an Argo CD Application');
  });
});

describe('promote.sh, committing only (PROMOTE_PUSH=false)', () => {
  let repository: string;
  let commit: string;
  beforeEach(async () => {
    ({ repository, commit } = await applicationRepository());
  });

  const promote = (environment: string, ref: string, revision = commit) =>
    bash('promote.sh', [environment, ref], { PROMOTE_REPO: repository, PROMOTE_PUSH: 'false', PROMOTE_REVISION: revision });

  it('pins the Application to the commit and digest, keeps its comments, and commits naming the environment, digest and commit', async () => {
    const result = await promote('staging', `${IMAGE}@${DIGEST_A}`);

    expect(result.code, result.stderr).toBe(0);
    expect(applicationIn(repository)).toBe(pinned(commit, `${IMAGE}@${DIGEST_A}`));
    expect(await gitOut(repository, 'log', '-1', '--format=%s')).toBe(`Promote shipshape to staging: ${DIGEST_A} [skip ci]`);
    expect(await gitOut(repository, 'log', '-1', '--format=%b')).toContain(`Image: ${IMAGE}@${DIGEST_A}`);
    expect(await gitOut(repository, 'log', '-1', '--format=%b')).toContain(`Manifests: ${commit}`);
    expect(await gitOut(repository, 'show', '--stat', '--format=', 'HEAD')).toMatch(/argocd\/application-staging\.yaml \| 4 \+\+--/);
    expect(await gitOut(repository, 'status', '--porcelain')).toBe('');
  });

  it('pins the pipeline\'s commit (GIT_SHA) when PROMOTE_REVISION is not set', async () => {
    const result = await bash('promote.sh', ['staging', `${IMAGE}@${DIGEST_A}`], { PROMOTE_REPO: repository, PROMOTE_PUSH: 'false', GIT_SHA: commit });

    expect(result.code, result.stderr).toBe(0);
    expect(readPin(applicationIn(repository)).revision).toBe(commit);
  });

  it('is idempotent: promoting the same commit and digest again commits nothing', async () => {
    await promote('staging', `${IMAGE}@${DIGEST_A}`);
    const before = await gitOut(repository, 'rev-parse', 'HEAD');

    const again = await promote('staging', `${IMAGE}@${DIGEST_A}`);

    expect(again.code).toBe(0);
    expect(again.stderr).toContain('staging already runs');
    expect(await gitOut(repository, 'rev-parse', 'HEAD')).toBe(before);
  });

  it.each([`${IMAGE}:latest`, `${IMAGE}:sha-1234567`, `${IMAGE}@sha256:${'a'.repeat(63)}`, `${IMAGE}@sha256:${'A'.repeat(64)}`, `@${DIGEST_A}`])(
    'refuses %s and changes nothing',
    async (ref) => {
      const result = await promote('staging', ref);

      expect(result.code).toBe(1);
      expect(result.stderr).toContain('refusing');
      expect(applicationIn(repository)).toBe(APPLICATION);
      expect(await gitOut(repository, 'rev-list', '--count', 'HEAD')).toBe('1');
    },
  );

  it.each([['a commit this repository does not have', 'f'.repeat(40)], ['a branch name', 'main'], ['unknown', 'unknown']])('refuses to pin %s and changes nothing', async (_name, revision) => {
    const result = await promote('staging', `${IMAGE}@${DIGEST_A}`, revision);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/refusing to pin staging|not a full commit id/);
    expect(applicationIn(repository)).toBe(APPLICATION);
    expect(await gitOut(repository, 'rev-list', '--count', 'HEAD')).toBe('1');
  });

  it('pins production only to a commit and digest staging has run, now or before', async () => {
    const neverStaged = await promote('production', `${IMAGE}@${DIGEST_A}`);
    expect(neverStaged.code).toBe(1);
    expect(neverStaged.stderr).toContain('staging never ran that pair');

    await promote('staging', `${IMAGE}@${DIGEST_A}`);
    await promote('staging', `${IMAGE}@${DIGEST_B}`);
    // Another digest at the same commit is another pair: refused too.
    writeFileSync(join(repository, 'README.md'), 'a later commit\n');
    await gitOut(repository, 'add', 'README.md');
    await gitOut(repository, 'commit', '--quiet', '--message', 'a later commit');
    const later = await gitOut(repository, 'rev-parse', 'HEAD');
    expect((await promote('production', `${IMAGE}@${DIGEST_A}`, later)).stderr).toContain('staging never ran that pair');

    // Staging has moved on to DIGEST_B; what it ran before can still go to production (or back to it).
    const earlier = await promote('production', `${IMAGE}@${DIGEST_A}`);
    expect(earlier.code, earlier.stderr).toBe(0);
    expect(readPin(applicationIn(repository, 'production'))).toEqual({ revision: commit, images: [`shipshape=${IMAGE}@${DIGEST_A}`, 'busybox=docker.io/library/busybox:1.36'] });
  });

  it('fails, committing nothing, when the Application cannot be edited', async () => {
    writeFileSync(join(repository, 'deploy/argocd/application-staging.yaml'), 'kind: Kustomization\n');
    await gitOut(repository, 'commit', '--quiet', '--all', '--message', 'a broken application');

    const result = await promote('staging', `${IMAGE}@${DIGEST_A}`);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not an Argo CD Application');
    expect(await gitOut(repository, 'log', '-1', '--format=%s')).toBe('a broken application');
  });

  it('refuses an environment without an Application, and bad usage', async () => {
    const missing = await promote('qa', `${IMAGE}@${DIGEST_A}`);
    const usage = await bash('promote.sh', ['staging'], { PROMOTE_REPO: repository, PROMOTE_PUSH: 'false' });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no Argo CD Application for qa');
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('usage: scripts/ci/promote.sh <environment> <image-name@sha256:digest>');
  });
});

describe('promote.sh, pushing to the GitOps branch', () => {
  let remote: string;
  let checkout: string;
  let other: string;
  let built: string;

  beforeAll(async () => {
    const seed = await applicationRepository();
    built = seed.commit;
    remote = scratchDir('gitops-remote');
    await gitOut(remote, 'init', '--quiet', '--bare', '--initial-branch', 'main');
    await gitOut(seed.repository, 'push', '--quiet', remote, 'main');
    // The pipeline's checkout: shallow and detached, as CI runners make them.
    checkout = scratchDir('gitops-checkout');
    await gitOut(checkout, 'clone', '--quiet', '--depth', '1', `file://${remote}`, '.');
    await gitOut(checkout, 'checkout', '--quiet', '--detach');
    other = scratchDir('gitops-other');
    await gitOut(other, 'clone', '--quiet', remote, '.');
  });

  // The pipeline pins the commit it built (GIT_SHA), whatever main has moved on to since.
  const promote = (ref: string) => bash('promote.sh', ['staging', ref], { PROMOTE_REPO: checkout, PROMOTE_BRANCH: 'main', GIT_SHA: built });

  it('commits on top of the newest tip of the branch, even from a stale checkout, pinning the commit it built, and pushes', async () => {
    // Someone else pushes after the pipeline checked out.
    writeFileSync(join(other, 'README.md'), 'moved on\n');
    await gitOut(other, 'add', 'README.md');
    await gitOut(other, 'commit', '--quiet', '--message', 'a newer commit');
    await gitOut(other, 'push', '--quiet', 'origin', 'main');

    const result = await promote(`${IMAGE}@${DIGEST_B}`);

    expect(result.code, result.stderr).toBe(0);
    expect(await gitOut(remote, 'log', '--format=%s', 'main')).toBe([`Promote shipshape to staging: ${DIGEST_B} [skip ci]`, 'a newer commit', 'staging application'].join('\n'));
    expect(readPin(await gitOut(remote, 'show', 'main:deploy/argocd/application-staging.yaml'))).toEqual({
      revision: built,
      images: [`shipshape=${IMAGE}@${DIGEST_B}`, 'busybox=docker.io/library/busybox:1.36'],
    });
  });

  it("leaves the job's own checkout as it was, with no worktree behind", async () => {
    expect(applicationIn(checkout)).toBe(APPLICATION);
    expect(await gitOut(checkout, 'worktree', 'list', '--porcelain')).not.toContain('shipshape-promote');
  });

  it('pushes nothing when the branch already has the pin', async () => {
    const before = await gitOut(remote, 'rev-parse', 'main');

    const result = await promote(`${IMAGE}@${DIGEST_B}`);

    expect(result.code).toBe(0);
    expect(await gitOut(remote, 'rev-parse', 'main')).toBe(before);
  });

  it('pins production, from a shallow checkout, to the pair staging ran, and refuses one it did not', async () => {
    const production = (ref: string) => bash('promote.sh', ['production', ref], { PROMOTE_REPO: checkout, PROMOTE_BRANCH: 'main', GIT_SHA: built });

    const refused = await production(`${IMAGE}@${DIGEST_A}`);
    const promoted = await production(`${IMAGE}@${DIGEST_B}`);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('staging never ran that pair');
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(readPin(await gitOut(remote, 'show', 'main:deploy/argocd/application-production.yaml')).revision).toBe(built);
    expect(await gitOut(remote, 'log', '-1', '--format=%s', 'main')).toBe(`Promote shipshape to production: ${DIGEST_B} [skip ci]`);
  });

  it('fails when it cannot push', async () => {
    const result = await bash('promote.sh', ['staging', `${IMAGE}@${DIGEST_A}`], { PROMOTE_REPO: checkout, PROMOTE_BRANCH: 'main', PROMOTE_REMOTE: join(remote, 'nowhere'), GIT_SHA: built });

    expect(result.code).not.toBe(0);
  });
});

describe('smoke.sh against a running app', () => {
  let running: TestApp & { baseUrl: string };
  let baseUrl: string;

  beforeAll(async () => {
    running = await createListeningTestApp({ env: { GIT_SHA: 'abc123' } });
    baseUrl = running.baseUrl;
  });
  afterAll(() => running.close());

  it('waits for readiness at the expected commit, then passes the smoke test', async () => {
    const result = await bash('smoke.sh', [baseUrl, 'abc123'], { SMOKE_TIMEOUT: '20' });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${baseUrl} is ready at abc123`);
    expect(result.stdout).toContain(`smoke test passed: 6 checks against ${baseUrl}`);
  });

  it('runs the read-only smoke test when SMOKE_READ_ONLY is true', async () => {
    const result = await bash('smoke.sh', [baseUrl, 'abc123'], { SMOKE_TIMEOUT: '20', SMOKE_READ_ONLY: 'true' });

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('listed tags');
    expect(result.stdout).not.toContain('registered');
  });

  it('fails after the timeout while the deployment still runs another commit', async () => {
    const started = Date.now();

    const result = await bash('smoke.sh', [baseUrl, 'def456'], { SMOKE_TIMEOUT: '2' });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`was not ready at def456 within 2 s`);
    expect(result.stdout).toContain('version abc123');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
  });

  it('fails when nothing answers, and on bad usage', async () => {
    const result = await bash('smoke.sh', ['http://127.0.0.1:9'], { SMOKE_TIMEOUT: '1' });
    const usage = await bash('smoke.sh', []);

    expect(result.code).toBe(1);
    expect(usage.code).toBe(64);
  });
});

describe('sbom.sh', () => {
  let directory: string;
  let bom: {
    bomFormat: string;
    specVersion: string;
    metadata: { component: { name: string; version: string; type: string } };
    components: { name: string; group?: string; version: string; purl: string }[];
  };

  beforeAll(async () => {
    directory = scratchDir('sbom');
    const result = await bash('sbom.sh', [], { SBOM_DIR: directory });
    expect(result.code, result.stderr).toBe(0);
    bom = JSON.parse(readFileSync(join(directory, 'sbom.cdx.json'), 'utf8')) as typeof bom;
  }, 120_000);

  const names = () => bom.components.map((component) => (component.group ? `${component.group}/${component.name}` : component.name));

  it('writes a CycloneDX 1.6 document describing the application', () => {
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component).toMatchObject({ name: 'shipshape', version: '0.1.0', type: 'application' });
  });

  it('lists the production dependencies at the versions the lockfile pins', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

    for (const [name, version] of Object.entries(dependencies)) {
      const component = bom.components.find((candidate) => (candidate.group ? `${candidate.group}/${candidate.name}` : candidate.name) === name);
      expect(component?.version, name).toBe(version);
      expect(component?.purl).toMatch(/^pkg:npm\//);
    }
  });

  it('leaves out the development tools, which never reach the image', () => {
    expect(names()).not.toContain('vitest');
    expect(names()).not.toContain('typescript');
    expect(names()).not.toContain('@cyclonedx/cyclonedx-npm');
  });
});

describe('sbom.sh on an image, with a stand-in trivy', () => {
  it("describes the pushed image with trivy's SBOM settings, not the gate's, and fails without trivy", async () => {
    const directory = scratchDir('sbom-image');
    const { path, log } = stubs({ trivy: '' });
    const ref = `${IMAGE}@${DIGEST_A}`;

    const described = await bash('sbom.sh', [ref], { PATH: path, STUB_LOG: log, SBOM_DIR: directory });
    const noTrivy = await bash('sbom.sh', [ref], { PATH: '/usr/bin:/bin', SBOM_DIR: directory });

    expect(described.code, described.stderr).toBe(0);
    expect(stubLines(log).map((line) => line.split(' | ')[0])).toEqual([`trivy image --config trivy-sbom.yaml --output ${directory}/sbom-image.cdx.json ${ref}`]);
    expect(noTrivy.code).toBe(1);
    expect(noTrivy.stderr).toContain('trivy is not installed');
  });
});

describe('build-image.sh, with stand-in builders', () => {
  let directory: string;
  beforeEach(() => {
    directory = scratchDir('build-image');
  });

  it("buildah: builds with the OCI build arguments, dated by the commit, pushes every tag, and writes the pushed digest to image.env", async () => {
    const { path, log } = stubs({
      buildah: `if [[ "$1" == push ]]; then printf '%s' '${DIGEST_A}' > "$3"; fi`,
    });
    const imageEnv = join(directory, 'image.env');

    const result = await bash('build-image.sh', ['buildah', 'registry.example.com/acme/shipshape', 'abc1234', 'v1.2.3'], {
      PATH: path,
      STUB_LOG: log,
      IMAGE_ENV: imageEnv,
      CI_COMMIT_SHA: 'c0ffee',
      CI_COMMIT_TAG: 'v1.2.3',
      CI_COMMIT_TIMESTAMP: '2026-01-02T03:04:05+00:00',
      CI_PROJECT_URL: 'https://gitlab.example.com/acme/shipshape',
    });

    expect(result.code, result.stderr).toBe(0);
    const [build, ...pushes] = stubLines(log);
    // 2026-01-02T03:04:05Z is 1767323045 s after the epoch; package.json's version, even on a tag.
    expect(build).toContain(
      'buildah build --timestamp 1767323045 --build-arg GIT_SHA=c0ffee --build-arg APP_VERSION=0.1.0 --build-arg CREATED=2026-01-02T03:04:05Z --build-arg SOURCE_URL=https://gitlab.example.com/acme/shipshape',
    );
    expect(build).toContain('--tag registry.example.com/acme/shipshape:abc1234 --tag registry.example.com/acme/shipshape:v1.2.3');
    expect(pushes.map((line) => line.split(' | ')[0]?.replace(/--digestfile \S+/, '--digestfile F'))).toEqual([
      'buildah push --digestfile F registry.example.com/acme/shipshape:abc1234 docker://registry.example.com/acme/shipshape:abc1234',
      'buildah push --digestfile F registry.example.com/acme/shipshape:v1.2.3 docker://registry.example.com/acme/shipshape:v1.2.3',
    ]);
    expect(readFileSync(imageEnv, 'utf8')).toBe(
      `IMAGE_NAME=registry.example.com/acme/shipshape\nIMAGE_DIGEST=${DIGEST_A}\nIMAGE_REF=registry.example.com/acme/shipshape@${DIGEST_A}\n`,
    );
  });

  it('docker: reproducible (SOURCE_DATE_EPOCH, rewritten layer timestamps, no dated attestations), digest from buildx metadata to image.env and $GITHUB_OUTPUT; with PUSH=false it only loads', async () => {
    const docker = `for ((i = 1; i <= $#; i++)); do if [[ "\${!i}" == --metadata-file ]]; then j=$((i + 1)); printf '{"containerimage.digest": "%s"}' '${DIGEST_B}' > "\${!j}"; fi; done`;
    const { path, log } = stubs({ docker });
    const githubOutput = join(directory, 'github-output');
    writeFileSync(githubOutput, 'earlier=kept\n');
    const env = { PATH: path, STUB_LOG: log, GITHUB_SHA: 'feed', GITHUB_REF_TYPE: 'branch', SOURCE_DATE_EPOCH: '1767323045' };

    const pushed = await bash('build-image.sh', ['docker', 'ghcr.io/acme/shipshape', 'sha-feed'], { ...env, IMAGE_ENV: join(directory, 'pushed.env'), GITHUB_OUTPUT: githubOutput });
    const loaded = await bash('build-image.sh', ['docker', 'shipshape', 'ci'], { ...env, PUSH: 'false', IMAGE_ENV: join(directory, 'loaded.env') });

    expect(pushed.code, pushed.stderr).toBe(0);
    expect(readFileSync(join(directory, 'pushed.env'), 'utf8')).toContain(`IMAGE_REF=ghcr.io/acme/shipshape@${DIGEST_B}`);
    expect(readFileSync(githubOutput, 'utf8')).toBe(`earlier=kept\nimage=ghcr.io/acme/shipshape\ndigest=${DIGEST_B}\nref=ghcr.io/acme/shipshape@${DIGEST_B}\n`);
    const [pushCall, loadCall] = stubLines(log);
    expect(pushCall).toMatch(
      /^docker buildx build --build-arg GIT_SHA=feed --build-arg APP_VERSION=0\.1\.0 --build-arg CREATED=2026-01-02T03:04:05Z .* --build-arg SOURCE_DATE_EPOCH=1767323045 --provenance=false --sbom=false .* --output type=registry,rewrite-timestamp=true --metadata-file /,
    );
    expect(loaded.code, loaded.stderr).toBe(0);
    expect(loadCall).toContain(' --output type=docker,rewrite-timestamp=true ');
    expect(() => readFileSync(join(directory, 'loaded.env'))).toThrow();
  });

  it('fails when the push reports no digest', async () => {
    const { path, log } = stubs({ buildah: '' });

    const result = await bash('build-image.sh', ['buildah', 'registry.example.com/acme/shipshape', 'abc1234'], { PATH: path, STUB_LOG: log, IMAGE_ENV: join(directory, 'image.env') });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the push reported no digest');
  });

  it('refuses the tag latest and bad usage before building anything', async () => {
    const { path, log } = stubs({ docker: '' });
    const env = { PATH: path, STUB_LOG: log };

    const latest = await bash('build-image.sh', ['docker', 'shipshape', 'latest'], env);
    const usage = await bash('build-image.sh', ['docker', 'shipshape'], env);
    const builder = await bash('build-image.sh', ['kaniko', 'shipshape', 'x'], env);

    expect(latest.code).toBe(1);
    expect(latest.stderr).toContain('refusing the tag latest');
    expect([usage.code, builder.code]).toEqual([64, 64]);
    expect(stubLines(log)).toEqual([]);
  });
});

/**
 * A stand-in skopeo over a registry kept in files ($REGISTRY): tags/<name:tag> holds a digest,
 * labels/<digest>/<label> an OCI label of that image. A manifest is represented by its digest,
 * so `inspect --raw` prints it and `manifest-digest` reads it back; COPY_DIGEST makes a copy
 * land on another digest, as a copy that rewrote the manifest would.
 */
const SKOPEO = `
key() { printf '%s' "\${1#docker://}" | tr '/:@' '___'; }
resolve() {
  local ref=\${1#docker://}
  if [[ "$ref" == *@sha256:* ]]; then [[ -d "$REGISTRY/labels/\${ref#*@}" ]] && echo "\${ref#*@}"; return; fi
  [[ -f "$REGISTRY/tags/$(key "$ref")" ]] && cat "$REGISTRY/tags/$(key "$ref")"
}
case "$1" in
  inspect)
    digest=$(resolve "\${!#}") || { echo "manifest unknown: \${!#}" >&2; exit 1; }
    if [[ "$2" == --raw ]]; then echo "$digest"; exit 0; fi
    label=$(sed -E 's/.*"([^"]+)".*/\\1/' <<<"$3")
    cat "$REGISTRY/labels/$digest/$label" 2>/dev/null || true ;;
  manifest-digest) cat "$2" ;;
  copy)
    digest=$(resolve "$4") || { echo "manifest unknown: $4" >&2; exit 1; }
    echo "\${COPY_DIGEST:-$digest}" > "$REGISTRY/tags/$(key "$5")" ;;
  *) exit 2 ;;
esac
`;

describe('retag.sh, against a stand-in registry (skopeo)', () => {
  const COMMIT = 'c0ffee'.padEnd(40, '0');
  let registry: string;
  let path: string;
  let log: string;
  let directory: string;

  /** Pushes an image to the stand-in registry: a digest, its labels, and a tag naming it. */
  function push(digest: string, labels: Record<string, string>, tag: string): void {
    mkdirSync(join(registry, 'labels', digest), { recursive: true });
    for (const [name, value] of Object.entries(labels)) writeFileSync(join(registry, 'labels', digest, name), `${value}\n`);
    writeFileSync(join(registry, 'tags', `${IMAGE}:${tag}`.replace(/[/:@]/g, '_')), `${digest}\n`);
  }
  const tagged = (tag: string) => {
    try {
      return readFileSync(join(registry, 'tags', `${IMAGE}:${tag}`.replace(/[/:@]/g, '_')), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const copies = () => stubLines(log).filter((line) => line.startsWith('skopeo copy')).map((line) => line.split(' | ')[0]);
  const retag = (args: string[], env: Record<string, string> = {}) =>
    bash('retag.sh', args, { PATH: path, STUB_LOG: log, REGISTRY: registry, GIT_SHA: COMMIT, IMAGE_ENV: join(directory, 'image.env'), ...env });

  beforeEach(() => {
    registry = scratchDir('registry');
    mkdirSync(join(registry, 'tags'));
    directory = scratchDir('retag');
    ({ path, log } = stubs({ skopeo: SKOPEO }));
    push(DIGEST_A, { 'org.opencontainers.image.revision': COMMIT, 'org.opencontainers.image.version': '1.2.3' }, 'sha-c0ffee0');
  });

  it('staged: tags the digest staging ran staged-<commit>, copied by digest', async () => {
    const result = await retag(['staged', `${IMAGE}@${DIGEST_A}`]);

    expect(result.code, result.stderr).toBe(0);
    expect(copies()).toEqual([`skopeo copy --all --preserve-digests docker://${IMAGE}@${DIGEST_A} docker://${IMAGE}:staged-${COMMIT}`]);
    expect(tagged(`staged-${COMMIT}`)).toBe(DIGEST_A);
  });

  it('staged: refuses a tag instead of a digest, and an image built from another commit', async () => {
    const byTag = await retag(['staged', `${IMAGE}:sha-c0ffee0`]);
    const otherCommit = await retag(['staged', `${IMAGE}@${DIGEST_A}`], { GIT_SHA: 'd'.repeat(40) });

    expect(byTag.code).toBe(1);
    expect(byTag.stderr).toContain('name the image by digest');
    expect(otherCommit.code).toBe(1);
    expect(otherCommit.stderr).toContain(`was not built from ${'d'.repeat(40)}`);
    expect(copies()).toEqual([]);
  });

  it('release: tags the staged digest X.Y.Z and X.Y, and hands it on to image.env and $GITHUB_OUTPUT', async () => {
    push(DIGEST_A, { 'org.opencontainers.image.revision': COMMIT, 'org.opencontainers.image.version': '1.2.3' }, `staged-${COMMIT}`);
    const githubOutput = join(directory, 'github-output');

    const result = await retag(['release', IMAGE, 'v1.2.3'], { GITHUB_OUTPUT: githubOutput });

    expect(result.code, result.stderr).toBe(0);
    expect(copies()).toEqual([
      `skopeo copy --all --preserve-digests docker://${IMAGE}@${DIGEST_A} docker://${IMAGE}:1.2.3`,
      `skopeo copy --all --preserve-digests docker://${IMAGE}@${DIGEST_A} docker://${IMAGE}:1.2`,
    ]);
    expect([tagged('1.2.3'), tagged('1.2')]).toEqual([DIGEST_A, DIGEST_A]);
    expect(readFileSync(join(directory, 'image.env'), 'utf8')).toBe(`IMAGE_NAME=${IMAGE}\nIMAGE_DIGEST=${DIGEST_A}\nIMAGE_REF=${IMAGE}@${DIGEST_A}\nAPP_VERSION=1.2.3\n`);
    expect(readFileSync(githubOutput, 'utf8')).toBe(`image=${IMAGE}\ndigest=${DIGEST_A}\nref=${IMAGE}@${DIGEST_A}\n`);
    expect(stubLines(log).filter((line) => /skopeo (build|push)/.test(line))).toEqual([]);
  });

  it('release: a prerelease gets its own tag only, never the X.Y line', async () => {
    push(DIGEST_B, { 'org.opencontainers.image.revision': COMMIT, 'org.opencontainers.image.version': '1.3.0-rc.1' }, `staged-${COMMIT}`);

    const result = await retag(['release', IMAGE, 'v1.3.0-rc.1']);

    expect(result.code, result.stderr).toBe(0);
    expect(copies()).toEqual([`skopeo copy --all --preserve-digests docker://${IMAGE}@${DIGEST_B} docker://${IMAGE}:1.3.0-rc.1`]);
  });

  it('release: refuses a commit staging never ran, a version the image does not carry, and a tag that is not vX.Y.Z', async () => {
    const neverStaged = await retag(['release', IMAGE, 'v1.2.3']);
    push(DIGEST_A, { 'org.opencontainers.image.revision': COMMIT, 'org.opencontainers.image.version': '1.2.3' }, `staged-${COMMIT}`);
    const otherVersion = await retag(['release', IMAGE, 'v1.4.0']);
    const notRelease = await retag(['release', IMAGE, 'nightly']);

    expect(neverStaged.code).toBe(1);
    expect(neverStaged.stderr).toContain(`no image of ${COMMIT} went through staging`);
    expect(otherVersion.code).toBe(1);
    expect(otherVersion.stderr).toContain("whose image says version 1.2.3: set package.json's version to 1.4.0 on main first");
    expect(notRelease.code).toBe(1);
    expect(notRelease.stderr).toContain('not a release tag: nightly');
    expect(copies()).toEqual([]);
    expect(() => readFileSync(join(directory, 'image.env'))).toThrow();
  });

  it('fails when a copy lands on another digest, and on bad usage', async () => {
    push(DIGEST_A, { 'org.opencontainers.image.revision': COMMIT, 'org.opencontainers.image.version': '1.2.3' }, `staged-${COMMIT}`);

    const rewritten = await retag(['release', IMAGE, 'v1.2.3'], { COPY_DIGEST: DIGEST_B });
    const usage = await retag(['release', IMAGE]);

    expect(rewritten.code).toBe(1);
    expect(rewritten.stderr).toContain(`${IMAGE}:1.2.3 does not name ${DIGEST_A} after the copy`);
    expect(usage.code).toBe(64);
  });
});

describe('attest-sbom.sh, with a stand-in cosign', () => {
  const component = (purl: string) => ({ type: 'library', name: purl.split('/').pop(), purl });
  const cyclonedx = (purls: string[]) => JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: purls.map(component) }, null, 2);
  /** The shape trivy writes for the image: Debian's packages and node_modules. */
  const IMAGE_SBOM = cyclonedx(['pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12.10', 'pkg:npm/fastify@5.12.8']);

  async function attest(ref: string, sbom: string) {
    const directory = scratchDir('attest');
    const file = join(directory, 'sbom-image.cdx.json');
    writeFileSync(file, sbom);
    const { path, log } = stubs({ cosign: '' });
    const result = await bash('attest-sbom.sh', [ref, file], { PATH: path, STUB_LOG: log });
    return { result, calls: stubLines(log).map((line) => line.split(' | ')[0]?.replace(file, 'SBOM')) };
  }

  it("attests an SBOM of the whole image (OS and npm packages) to the digest, as a CycloneDX predicate", async () => {
    const { result, calls } = await attest(`${IMAGE}@${DIGEST_A}`, IMAGE_SBOM);

    expect(result.code, result.stderr).toBe(0);
    expect(calls).toEqual([`cosign attest --yes --type cyclonedx --predicate SBOM ${IMAGE}@${DIGEST_A}`]);
  });

  it('refuses the lockfile SBOM (no OS package), a document that is not CycloneDX, and a tag', async () => {
    const lockfileOnly = await attest(`${IMAGE}@${DIGEST_A}`, cyclonedx(['pkg:npm/fastify@5.12.8']));
    const spdx = await attest(`${IMAGE}@${DIGEST_A}`, JSON.stringify({ spdxVersion: 'SPDX-2.3', packages: [] }));
    const byTag = await attest(`${IMAGE}:1.2.3`, IMAGE_SBOM);

    expect(lockfileOnly.result.code).toBe(1);
    expect(lockfileOnly.result.stderr).toContain('lists no operating system package');
    expect(spdx.result.code).toBe(1);
    expect(spdx.result.stderr).toContain('is not a CycloneDX document');
    expect(byTag.result.code).toBe(1);
    expect(byTag.result.stderr).toContain('attest to a digest');
    expect([...lockfileOnly.calls, ...spdx.calls, ...byTag.calls]).toEqual([]);
  });
});

describe('scan-image.sh, with a stand-in trivy', () => {
  it('gates on fixable HIGH and CRITICAL vulnerabilities of the image, and fails when trivy finds some', async () => {
    const clean = stubs({ trivy: '' });
    const dirty = stubs({ trivy: 'exit 1' });
    const ref = `${IMAGE}@${DIGEST_A}`;

    const passed = await bash('scan-image.sh', [ref], { PATH: clean.path, STUB_LOG: clean.log });
    const failed = await bash('scan-image.sh', [ref, '--format', 'json'], { PATH: dirty.path, STUB_LOG: dirty.log });

    expect(passed.code).toBe(0);
    expect(stubLines(clean.log)[0]).toMatch(new RegExp(`^trivy image --config trivy.yaml ${ref.replace(/[.]/g, '\\.')} \\|`));
    expect(failed.code).toBe(1);
    expect(stubLines(dirty.log)[0]).toContain(`--config trivy.yaml --format json ${ref}`);
  });
});

describe('the test and audit scripts, with a stand-in npm', () => {
  const DATABASE = 'postgres://postgres:postgres@db.example:5432/postgres';

  async function calls(script: string, args: string[] = [], env: Record<string, string | undefined> = {}): Promise<string[]> {
    const { path, log } = stubs({ npm: '' });
    const result = await bash(script, args, { PATH: path, STUB_LOG: log, ...env });
    expect(result.code, result.stderr).toBe(0);
    return stubLines(log);
  }

  it('lint.sh: ESLint, then the type check', async () => {
    expect(await calls('lint.sh')).toEqual(['npm run lint | CI= DB= BROWSER=', 'npm run typecheck | CI= DB= BROWSER=']);
  });

  it('unit-tests.sh: the suite with CI=true (JUnit) on SQLite, whatever TEST_DATABASE_URL says', async () => {
    expect(await calls('unit-tests.sh', [], { TEST_DATABASE_URL: DATABASE })).toEqual(['npm test -- | CI=true DB= BROWSER=']);
  });

  it('postgres-tests.sh: the suite on the PostgreSQL in TEST_DATABASE_URL', async () => {
    expect(await calls('postgres-tests.sh', [], { TEST_DATABASE_URL: DATABASE })).toEqual([`npm test -- | CI=true DB=${DATABASE} BROWSER=`]);
  });

  it('conformance.sh: SQLite first, then PostgreSQL', async () => {
    expect(await calls('conformance.sh', [], { TEST_DATABASE_URL: DATABASE })).toEqual([
      'npm run test:conformance | CI= DB= BROWSER=',
      `npm run test:conformance | CI= DB=${DATABASE} BROWSER=`,
    ]);
  });

  it('scale-tests.sh: the scale test on SQLite first, then PostgreSQL', async () => {
    expect(await calls('scale-tests.sh', [], { TEST_DATABASE_URL: DATABASE })).toEqual([
      'npm exec -- vitest run --config vitest.scale.config.ts | CI= DB= BROWSER=',
      `npm exec -- vitest run --config vitest.scale.config.ts | CI= DB=${DATABASE} BROWSER=`,
    ]);
  });

  it('bench-gate.sh: the bench in gate mode on SQLite, whatever TEST_DATABASE_URL says', async () => {
    expect(await calls('bench-gate.sh', [], { TEST_DATABASE_URL: DATABASE })).toEqual(['npm run bench -- --gate | CI= DB= BROWSER=']);
  });

  it('browser-tests.sh: the browser named by CHROMIUM_PATH, on the database asked for', async () => {
    const browser = process.execPath;

    expect(await calls('browser-tests.sh', ['sqlite'], { CHROMIUM_PATH: browser, TEST_DATABASE_URL: DATABASE })).toEqual([
      `npm exec -- vitest run --config vitest.browser.config.ts | CI=true DB= BROWSER=${browser}`,
    ]);
    expect(await calls('browser-tests.sh', ['postgres'], { CHROMIUM_PATH: browser, TEST_DATABASE_URL: DATABASE })).toEqual([
      `npm exec -- vitest run --config vitest.browser.config.ts | CI=true DB=${DATABASE} BROWSER=${browser}`,
    ]);
  });

  it('cluster-tests.sh: the built app, then the cluster suite with CI=true on the PostgreSQL in TEST_DATABASE_URL', async () => {
    // A stand-in haproxy on PATH: scripts/ensure-packages.sh finds it and installs nothing.
    const { path, log } = stubs({ npm: '', haproxy: '' });
    const result = await bash('cluster-tests.sh', [], { PATH: path, STUB_LOG: log, TEST_DATABASE_URL: DATABASE });

    expect(result.code, result.stderr).toBe(0);
    expect(stubLines(log)).toEqual([
      `npm run build | CI=true DB=${DATABASE} BROWSER=`,
      `npm exec -- vitest run --config vitest.cluster.config.ts | CI=true DB=${DATABASE} BROWSER=`,
    ]);
  });

  it('audit.sh: production dependencies, high severity and up', async () => {
    expect(await calls('audit.sh')).toEqual(['npm audit --omit=dev --audit-level=high | CI= DB= BROWSER=']);
  });

  it('the scripts fail when npm does', async () => {
    const { path, log } = stubs({ npm: 'exit 3' });

    const result = await bash('lint.sh', [], { PATH: path, STUB_LOG: log });

    expect(result.code).toBe(3);
    expect(stubLines(log)).toHaveLength(1);
  });
});

describe('package-chart.sh, with a stand-in helm', () => {
  const IMAGE = 'ghcr.io/acme/shipshape';
  const DIGEST = `sha256:${'a'.repeat(64)}`;
  const CHART_DIGEST = `sha256:${'c'.repeat(64)}`;
  const chartEnv = join(ROOT, 'chart.env');
  afterAll(() => rmSync(chartEnv, { force: true }));

  /** helm that logs its calls, keeps the values.yaml it packaged, and reports a pushed digest. */
  function helm(pushBody = `echo "Pushed: ghcr.io/acme/charts/shipshape:x"; echo "Digest: ${CHART_DIGEST}"`) {
    const kept = scratchDir('packaged');
    const { path, log } = stubs({ helm: `if [[ $1 == package ]]; then cp "$2/values.yaml" "${kept}/values.yaml"; fi\nif [[ $1 == push ]]; then ${pushBody}; fi` });
    return { path, log, values: join(kept, 'values.yaml') };
  }

  it('lints, packages a release tag as its version with the digest as the default image, pushes, and hands on the chart digest', async () => {
    const { path, log, values } = helm();
    const output = join(scratchDir('github-output'), 'output');
    const result = await bash('package-chart.sh', [`${IMAGE}@${DIGEST}`, 'v1.4.2', 'oci://ghcr.io/acme/charts'], { PATH: path, STUB_LOG: log, GITHUB_OUTPUT: output });

    expect(result.code, result.stderr).toBe(0);
    expect(stubLines(log).map((line) => line.split(' | ')[0]?.replace(/\/tmp\/[^ ]+\/shipshape/g, 'CHART'))).toEqual([
      'helm lint --strict CHART --values CHART/values-production.yaml',
      expect.stringMatching(/^helm package CHART --version 1\.4\.2 --app-version 1\.4\.2 --destination \/tmp\//),
      'helm push CHART-1.4.2.tgz oci://ghcr.io/acme/charts',
    ]);
    expect(readFileSync(values, 'utf8')).toMatch(new RegExp(`\n  repository: ${IMAGE}\n  # [^\n]*\n  digest: ${DIGEST}\n`));
    expect(readFileSync(chartEnv, 'utf8')).toBe(`CHART_REF=ghcr.io/acme/charts/shipshape@${CHART_DIGEST}\n`);
    expect(readFileSync(output, 'utf8')).toBe(`ref=ghcr.io/acme/charts/shipshape@${CHART_DIGEST}\n`);
  });

  it('versions a commit build as a prerelease of package.json\'s version', async () => {
    const { path, log } = helm();
    const result = await bash('package-chart.sh', [`${IMAGE}@${DIGEST}`, '0123456789abcdef0123456789abcdef01234567', 'ghcr.io/acme/charts'], { PATH: path, STUB_LOG: log });
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

    expect(result.code, result.stderr).toBe(0);
    expect(stubLines(log)[1]).toContain(`--version ${version}-sha-0123456789ab `);
  });

  it('refuses a tag instead of a digest, a bad release name, and a push without a digest', async () => {
    const { path, log } = helm('echo "Pushed: somewhere"');

    expect((await bash('package-chart.sh', [`${IMAGE}:1.4.2`, 'v1.4.2', 'ghcr.io/acme/charts'], { PATH: path, STUB_LOG: log })).stderr).toMatch(/not an image digest reference/);
    expect((await bash('package-chart.sh', [`${IMAGE}@${DIGEST}`, 'latest', 'ghcr.io/acme/charts'], { PATH: path, STUB_LOG: log })).stderr).toMatch(/neither a v-tag nor a commit/);
    const noDigest = await bash('package-chart.sh', [`${IMAGE}@${DIGEST}`, 'v1.4.2', 'ghcr.io/acme/charts'], { PATH: path, STUB_LOG: log });
    expect(noDigest.code).not.toBe(0);
    expect(noDigest.stderr).toMatch(/helm push reported no digest/);
  });
});

describe('scripts/ci/*.sh', () => {
  const scripts = readdirSync(CI_SCRIPT_DIR).filter((name) => name.endsWith('.sh') && name !== 'lib.sh');

  it.each(scripts)('%s is an executable bash script in strict mode with a usage line', (name) => {
    const text = readFileSync(join(CI_SCRIPT_DIR, name), 'utf8');

    expect(() => accessSync(join(CI_SCRIPT_DIR, name), constants.X_OK)).not.toThrow();
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text).toMatch(/^# Usage: scripts\/ci\/[\w-]+\.sh/m);
  });

  it('are all called by both pipelines (scan-image.sh: GitLab only; GitHub uses the trivy action)', () => {
    const github = readdirSync(join(ROOT, '.github/workflows')).map((name) => readFileSync(join(ROOT, '.github/workflows', name), 'utf8')).join('\n');
    const gitlab = readFileSync(join(ROOT, '.gitlab-ci.yml'), 'utf8');

    for (const name of scripts) {
      expect(gitlab, name).toContain(`scripts/ci/${name}`);
      if (name !== 'scan-image.sh') expect(github, name).toContain(`scripts/ci/${name}`);
    }
  });
});

// Keeps the fixtures honest: they have the shape of the real files (a missing file fails too).
describe('the fixtures', () => {
  it.each(['staging', 'production'])('the Application fixture has the pin application-%s.yaml has', (environment) => {
    const text = readFileSync(join(ROOT, `deploy/argocd/application-${environment}.yaml`), 'utf8');
    const edit = pinEnvironment(text, 'c3'.repeat(20), 'shipshape', `${IMAGE}@${DIGEST_A}`);

    const pin = readPin(text);
    expect(pin.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(pin.images).toEqual([expect.stringMatching(/^shipshape=[^@\s]+@sha256:[0-9a-f]{64}$/)]);
    expect(edit.text.split('\n').filter((line, index) => line !== text.split('\n')[index])).toEqual([`    targetRevision: "${'c3'.repeat(20)}"`, `        - shipshape=${IMAGE}@${DIGEST_A}`]);
  });

  it('has the images entry the real overlays have', () => {
    const text = readFileSync(join(ROOT, 'deploy/kubernetes/overlays/staging/kustomization.yaml'), 'utf8');
    const edit = setImage(text, 'shipshape', `${IMAGE}@${DIGEST_A}`);

    expect(text).toMatch(/^images:\n {2}- name: shipshape\n {4}newName: \S+\n {4}digest: sha256:[0-9a-f]{64}$/m);
    expect(edit.text.split('\n').filter((line, index) => line !== text.split('\n')[index])).toEqual([`    newName: ${IMAGE}`, `    digest: ${DIGEST_A}`]);
  });
});
