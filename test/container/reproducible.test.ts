/**
 * Reproducible builds: the image the rest of the suite runs (built from scratch by
 * scripts/container/build-image.sh, as npm run test:container does first) is built again, from
 * scratch, with no layer cache; both must be the same image, digest for digest, here and once
 * pushed to a registry (Debian's docker-registry), which compresses the layers. This is what lets
 * a release tag name the digest main built: the digest is a function of the commit.
 */
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { IMAGE, podman, podmanOk } from '../helpers/podman.ts';
import { ROOT } from '../helpers/process.ts';
import { pushImage, startRegistry } from '../helpers/registry.ts';

/** Beside the suite's image, so parallel runs with their own SHIPSHAPE_IMAGE never meet. */
const REBUILT = `${IMAGE}-rebuilt`;

interface ImageIdentity {
  /** The config's digest: every label, env, date and layer id. */
  id: string;
  /** The manifest's digest, the one a registry answers for the image. */
  digest: string;
  created: string;
  layers: string[];
}

async function identity(image: string): Promise<ImageIdentity> {
  const inspect = JSON.parse(await podmanOk(['image', 'inspect', image])) as { Id: string; Digest: string; Created: string; RootFS: { Layers: string[] } }[];
  const [first] = inspect;
  if (first === undefined) throw new Error(`no image ${image}`);
  return { id: first.Id, digest: first.Digest, created: first.Created, layers: first.RootFS.Layers };
}

function buildImage(image: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['scripts/container/build-image.sh', image], { cwd: ROOT, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr });
    });
  });
}

/** The commit's time: SOURCE_DATE_EPOCH, the only date the image may carry. */
function commitTime(): Date {
  return new Date(Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim()) * 1000);
}

describe('the image build', () => {
  afterAll(async () => {
    await podman(['rmi', '--force', REBUILT]);
  });

  it('gives the same digest when the same commit is built again from scratch, dated by the commit', async () => {
    const first = await identity(IMAGE);

    const rebuild = await buildImage(REBUILT);
    expect(rebuild.code, rebuild.output).toBe(0);
    const second = await identity(REBUILT);
    console.log(`figures: the rebuilt image is ${second.digest} (config ${second.id.slice(0, 12)}), the suite's ${first.digest}`);

    expect(second.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second).toEqual(first);
    expect(new Date(second.created).getTime()).toBe(commitTime().getTime());

    const registry = await startRegistry();
    try {
      const pushedFirst = await pushImage(registry, IMAGE, 'acme/shipshape', 'first');
      const pushedSecond = await pushImage(registry, REBUILT, 'acme/shipshape', 'second');
      console.log(`figures: both pushed as ${pushedSecond}`);
      expect(pushedSecond).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(pushedSecond).toBe(pushedFirst);
    } finally {
      registry.stop();
    }
  }, 900_000);
});
