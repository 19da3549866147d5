/**
 * Renders an environment the way Argo CD does: reads the pin in its Application
 * (deploy/argocd/application-<environment>.yaml: targetRevision and kustomize.images), takes
 * deploy/ as it was at that commit, applies the image overrides as `kustomize edit set image`
 * does, and builds the overlay with the pinned kubectl (scripts/ensure-kubectl.sh). What it
 * prints is what a sync applies, so `diff` of two runs shows what a promotion would change.
 *
 * Usage: node scripts/deploy/render-environment.ts <environment> [repository, default: this one]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readPin } from '../ci/pin-environment.ts';
import { setImage } from '../ci/set-image.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const OVERRIDE = /^([^=\s]+)=(\S+)$/;

let kubectl: string | undefined;
function kubectlPath(): string {
  kubectl ??= execFileSync('bash', [join(ROOT, 'scripts/ensure-kubectl.sh')], { encoding: 'utf8' }).trim();
  return kubectl;
}

export class RenderError extends Error {}

/** The environment's manifests as its pinned commit and image render them. */
export function renderEnvironment(repository: string, environment: string): string {
  const application = readFileSync(join(repository, 'deploy/argocd', `application-${environment}.yaml`), 'utf8');
  const pin = readPin(application);
  const path = (parse(application) as { spec: { source: { path: string } } }).spec.source.path;
  const checkout = mkdtempSync(join(tmpdir(), `shipshape-render-${environment}-`));
  try {
    let archive: Buffer;
    try {
      archive = execFileSync('git', ['-C', repository, 'archive', '--format=tar', pin.revision, 'deploy'], { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch {
      throw new RenderError(`${environment} is pinned to ${pin.revision}, which is not a commit of ${repository} (not promoted yet?)`);
    }
    execFileSync('tar', ['-x', '-C', checkout], { input: archive });
    const kustomization = join(checkout, path, 'kustomization.yaml');
    let text = readFileSync(kustomization, 'utf8');
    for (const image of pin.images) {
      const match = OVERRIDE.exec(image);
      if (!match?.[1] || !match[2]) throw new RenderError(`${environment}: not a kustomize image override: ${image}`);
      text = setImage(text, match[1], match[2]).text;
    }
    writeFileSync(kustomization, text);
    return execFileSync(kubectlPath(), ['kustomize', join(checkout, path)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } finally {
    rmSync(checkout, { recursive: true, force: true });
  }
}

function main(): void {
  const [environment, repository = ROOT] = process.argv.slice(2);
  if (environment === undefined) {
    console.error('usage: node scripts/deploy/render-environment.ts <environment> [repository]');
    process.exit(64);
  }
  try {
    process.stdout.write(renderEnvironment(repository, environment));
  } catch (error) {
    console.error(`render-environment: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

if (import.meta.main) main();
