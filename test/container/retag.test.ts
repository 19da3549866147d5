/**
 * A release tag against a real registry: the suite's image is pushed to a throw-away registry
 * (Debian's docker-registry) as main's build pushes it, scripts/ci/retag.sh records that staging
 * ran it and then releases it, with the real skopeo. The release tags must name the very digest
 * the build pushed, and a commit staging never ran must be refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE } from '../helpers/podman.ts';
import { ROOT } from '../helpers/process.ts';
import { type LocalRegistry, pushImage, registryDigest, runCommand, startRegistry } from '../helpers/registry.ts';

const headSha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

describe('retag.sh against a real registry', () => {
  let registry: LocalRegistry;
  let name: string;
  let built: string;
  let directory: string;

  const retag = (args: string[], env: Record<string, string> = {}) =>
    runCommand('bash', [join(ROOT, 'scripts/ci/retag.sh'), ...args], { ...registry.env, GIT_SHA: headSha, IMAGE_ENV: join(directory, 'image.env'), ...env });

  beforeAll(async () => {
    registry = await startRegistry();
    directory = mkdtempSync(join(tmpdir(), 'shipshape-retag-'));
    name = `${registry.host}/acme/shipshape`;
    built = await pushImage(registry, IMAGE, 'acme/shipshape', `sha-${headSha.slice(0, 7)}`);
  });
  afterAll(() => {
    registry.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('refuses to release a commit before staging ran it', async () => {
    const result = await retag(['release', name, `v${version}`]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no image of ${headSha} went through staging`);
  });

  it('records staging, then tags that same digest with the release version and its line, copying no byte', async () => {
    const staged = await retag(['staged', `${name}@${built}`]);
    expect(staged.code, staged.stderr).toBe(0);

    const released = await retag(['release', name, `v${version}`]);
    expect(released.code, released.stderr).toBe(0);

    const line = version.split('.').slice(0, 2).join('.');
    expect(built).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(registry, `${name}:staged-${headSha}`)).toBe(built);
    expect(await registryDigest(registry, `${name}:${version}`)).toBe(built);
    expect(await registryDigest(registry, `${name}:${line}`)).toBe(built);
    expect(readFileSync(join(directory, 'image.env'), 'utf8')).toBe(`IMAGE_NAME=${name}\nIMAGE_DIGEST=${built}\nIMAGE_REF=${name}@${built}\nAPP_VERSION=${version}\n`);
  });

  it('refuses a tag whose version the image does not carry', async () => {
    const result = await retag(['release', name, 'v99.0.0']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`whose image says version ${version}`);
  });
});
