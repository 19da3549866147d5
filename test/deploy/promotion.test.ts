/**
 * Whole-environment promotion, for real: a scratch Git repository holding this checkout's
 * deploy/, the real scripts/ci/promote.sh pinning each environment's Argo CD Application to a
 * commit and a digest, and scripts/deploy/render-environment.ts rendering each environment as
 * Argo CD would (deploy/ at the pinned commit, the pinned image, kubectl kustomize). A change
 * to the base reaches staging with its next promotion and leaves production's rendering
 * untouched until production is promoted to that same commit and image.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readPin } from '../../scripts/ci/pin-environment.ts';
import { RenderError, renderEnvironment } from '../../scripts/deploy/render-environment.ts';
import { type Container, find, type KubeObject, kustomize, podTemplates } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

const IMAGE = 'ghcr.io/acme/shipshape';
const FIRST_IMAGE = `${IMAGE}@sha256:${'a1'.repeat(32)}`;
const SECOND_IMAGE = `${IMAGE}@sha256:${'b2'.repeat(32)}`;
const BASE_CONFIG = 'deploy/kubernetes/base/configmap.yaml';

const repository = mkdtempSync(join(tmpdir(), 'shipshape-promotion-'));
afterAll(() => rmSync(repository, { recursive: true, force: true }));

function git(...args: string[]): string {
  return execFileSync('git', ['-C', repository, '-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { encoding: 'utf8' }).trim();
}

function commitAll(message: string): string {
  git('add', '--all');
  git('commit', '--quiet', '--message', message);
  return git('rev-parse', 'HEAD');
}

/** The release pipeline's promotion step, committing in the scratch repository. */
function promote(environment: string, revision: string, image: string): void {
  execFileSync('bash', [join(ROOT, 'scripts/ci/promote.sh'), environment, image], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PROMOTE_REPO: repository, PROMOTE_PUSH: 'false', PROMOTE_REVISION: revision, PROMOTE_GIT_EMAIL: 'release@example.com' },
  });
}

function render(environment: string): { text: string; objects: KubeObject[] } {
  const text = renderEnvironment(repository, environment);
  return { text, objects: parseAllDocuments(text).map((document) => document.toJS() as KubeObject) };
}

const uploadLimit = (objects: KubeObject[]) => find(objects, 'ConfigMap', 'shipshape-config').data?.UPLOAD_LIMIT;
/** The images the app's containers (web and migration) run, each once. */
const appImages = (objects: KubeObject[]) => {
  const containers = podTemplates(objects)
    .flatMap(({ pod }) => pod.containers)
    .filter((container: Container) => container.name === 'shipshape' || container.name === 'migrate');
  expect(new Set(containers.map((container) => container.name))).toEqual(new Set(['shipshape', 'migrate']));
  return [...new Set(containers.map((container) => container.image))];
};

let firstRelease: string;
let productionAtFirstRelease: string;
let beforeAnyPromotion: unknown;

beforeAll(() => {
  cpSync(join(ROOT, 'deploy'), join(repository, 'deploy'), { recursive: true });
  git('init', '--quiet', '--initial-branch', 'main');
  firstRelease = commitAll('release 1');
  try {
    render('production');
  } catch (error) {
    beforeAnyPromotion = error;
  }
  promote('staging', firstRelease, FIRST_IMAGE);
  promote('production', firstRelease, FIRST_IMAGE);
  productionAtFirstRelease = render('production').text;
});

describe('promoting a whole environment', () => {
  it('renders nothing for an environment pinned to a commit the repository lacks (never promoted here)', () => {
    expect(beforeAnyPromotion).toBeInstanceOf(RenderError);
    expect(String(beforeAnyPromotion)).toMatch(/production is pinned to [0-9a-f]{40}, which is not a commit/);
  });

  it('pins each Application to the commit and the digest, in one commit per promotion', () => {
    for (const environment of ['staging', 'production']) {
      const pin = readPin(readFileSync(join(repository, `deploy/argocd/application-${environment}.yaml`), 'utf8'));
      expect(pin).toEqual({ revision: firstRelease, images: [`shipshape=${FIRST_IMAGE}`] });
    }
    expect(git('log', '--format=%s', `${firstRelease}..HEAD`).split('\n')).toEqual([
      `Promote shipshape to production: sha256:${'a1'.repeat(32)} [skip ci]`,
      `Promote shipshape to staging: sha256:${'a1'.repeat(32)} [skip ci]`,
    ]);
  });

  it('renders both environments from the pinned commit with the pinned image', () => {
    for (const environment of ['staging', 'production']) {
      const { objects } = render(environment);
      expect(appImages(objects)).toEqual([FIRST_IMAGE]);
      expect(uploadLimit(objects)).toBe('2mb');
    }
  });

  it('keeps production exactly as it rendered when a base change reaches main and staging', () => {
    writeFileSync(join(repository, BASE_CONFIG), readFileSync(join(repository, BASE_CONFIG), 'utf8').replace('UPLOAD_LIMIT: 2mb', 'UPLOAD_LIMIT: 4mb'));
    const secondRelease = commitAll('raise the upload limit in the base');
    promote('staging', secondRelease, SECOND_IMAGE);

    // An Application tracking main would now render the new base in production.
    const productionOverlayAtMain = kustomize(join(repository, 'deploy/kubernetes/overlays/production'));
    expect(uploadLimit(productionOverlayAtMain)).toBe('4mb');

    const staging = render('staging').objects;
    expect(uploadLimit(staging)).toBe('4mb');
    expect(appImages(staging)).toEqual([SECOND_IMAGE]);
    expect(render('production').text).toBe(productionAtFirstRelease);
  });

  it('moves production to the new base and image when it is promoted to what staging ran', () => {
    const stagingPin = readPin(readFileSync(join(repository, 'deploy/argocd/application-staging.yaml'), 'utf8'));
    promote('production', stagingPin.revision, SECOND_IMAGE);

    const production = render('production').objects;
    expect(uploadLimit(production)).toBe('4mb');
    expect(appImages(production)).toEqual([SECOND_IMAGE]);
    expect(render('production').text).not.toBe(productionAtFirstRelease);
  });

  it('refuses to pin a commit the repository does not have, changing nothing', () => {
    const before = git('rev-parse', 'HEAD');

    expect(() => promote('production', 'f'.repeat(40), SECOND_IMAGE)).toThrow(/not a commit of this repository/);
    expect(git('rev-parse', 'HEAD')).toBe(before);
    expect(git('status', '--porcelain')).toBe('');
  });
});
