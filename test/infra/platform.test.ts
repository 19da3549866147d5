/**
 * deploy/platform offline: both environments' app of apps render (kubectl kustomize), every
 * Application, AppProject, ClusterIssuer, ClusterSecretStore and ExternalSecret passes its CRD
 * schema and types; charts are pinned, values files exist, sync waves put each piece after
 * what it needs (ending with the application); the Alertmanager configuration passes
 * `amtool check-config` and routes staging to tickets and production's critical alerts to the
 * pager; the Kyverno policies admit exactly the images the overlays and the chart render, and
 * name this repository's release workflows; the Pod Identity bindings Terraform creates are
 * the service accounts the charts run as. Kyverno's CRD schema and the policies' admission
 * itself can only be checked on a live cluster (docs/infrastructure.md says how).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { schemaErrors, unknownFieldErrors } from '../helpers/kube-schemas.ts';
import { type KubeObject, find, kustomize, OVERLAYS, podTemplates, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';
import { loadModule } from './terraform.ts';

const PLATFORM = 'deploy/platform';
const EXACT_VERSION = /^v?\d+\.\d+\.\d+$/;

interface HelmSource {
  repoURL: string;
  chart?: string;
  targetRevision: string;
  ref?: string;
  path?: string;
  helm?: { releaseName?: string; valueFiles?: string[] };
}

interface ApplicationSpec {
  project: string;
  source?: HelmSource & { directory?: { include?: string } };
  sources?: HelmSource[];
  destination: { server: string; namespace: string };
  syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean }; syncOptions?: string[] };
}

const platforms = {} as Record<string, KubeObject[]>;
let config: KubeObject[];

beforeAll(() => {
  for (const environment of OVERLAYS) platforms[environment] = kustomize(`${PLATFORM}/envs/${environment}`);
  config = kustomize(`${PLATFORM}/config`);
});

function applications(environment: string): Map<string, ApplicationSpec> {
  return new Map((platforms[environment] ?? []).filter((object) => object.kind === 'Application').map((object) => [object.metadata.name, object.spec as unknown as ApplicationSpec]));
}

function wave(environment: string, name: string): number {
  const object = (platforms[environment] ?? []).find((candidate) => candidate.metadata.name === name);
  return Number(object?.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
}

async function validate(objects: KubeObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const error = await schemaErrors(object);
    if (error) problems.push(`${object.kind}/${object.metadata.name}: ${error}`);
  }
  return [...problems, ...unknownFieldErrors(objects)];
}

describe.each(OVERLAYS)('the %s platform (deploy/platform/envs/<environment>)', (environment) => {
  it('validates every Application and the AppProject against the Argo CD schemas and types', async () => {
    expect(await validate(platforms[environment] ?? [])).toEqual([]);
    expect((platforms[environment] ?? []).map((object) => object.kind).sort()).toEqual(['AppProject', ...Array<string>(13).fill('Application')]);
  });

  it('installs each add-on from its chart repository at a pinned version, with values files that exist', () => {
    const charts = [...applications(environment)].flatMap(([name, spec]) => (spec.sources ?? []).filter((source) => source.chart).map((source) => ({ name, source })));
    const project = find(platforms[environment] ?? [], 'AppProject', 'platform').spec as { sourceRepos: string[] };

    expect(charts.map(({ source }) => source.chart).sort()).toEqual([
      'argo-rollouts', 'aws-load-balancer-controller', 'cert-manager', 'cluster-autoscaler', 'external-secrets', 'ingress-nginx', 'kube-prometheus-stack', 'kyverno', 'metrics-server', 'reloader', 'velero',
    ]);
    for (const { name, source } of charts) {
      expect(source.targetRevision, name).toMatch(EXACT_VERSION);
      expect(project.sourceRepos, name).toContain(source.repoURL);
      for (const file of source.helm?.valueFiles ?? []) expect(existsSync(join(ROOT, file.replace(/^\$values\//, ''))), `${name}: ${file}`).toBe(true);
    }
  });

  it('brings a new cluster up in order: controllers, operators, ingress, their configuration, then the application', () => {
    expect(wave(environment, 'platform')).toBeLessThan(wave(environment, 'metrics-server'));
    for (const controller of ['metrics-server', 'aws-load-balancer-controller', 'cluster-autoscaler']) {
      for (const operator of ['cert-manager', 'external-secrets', 'kyverno', 'kube-prometheus-stack']) expect(wave(environment, controller), `${controller} < ${operator}`).toBeLessThan(wave(environment, operator));
    }
    // ingress-nginx's Service needs the load balancer controller's webhook; its ServiceMonitor the Prometheus CRDs.
    expect(wave(environment, 'kube-prometheus-stack')).toBeLessThan(wave(environment, 'ingress-nginx'));
    // Argo Rollouts' ServiceMonitor needs the Prometheus CRDs; Shipshape's Rollout needs its CRDs.
    expect(wave(environment, 'kube-prometheus-stack')).toBeLessThan(wave(environment, 'argo-rollouts'));
    expect(wave(environment, 'argo-rollouts')).toBeLessThan(wave(environment, 'shipshape-applications'));
    for (const operator of ['cert-manager', 'external-secrets', 'kyverno', 'kube-prometheus-stack', 'ingress-nginx', 'argo-rollouts', 'velero']) {
      expect(wave(environment, operator), `${operator} < platform-config`).toBeLessThan(wave(environment, 'platform-config'));
    }
    expect(wave(environment, 'platform-config')).toBeLessThan(wave(environment, 'shipshape-applications'));
  });

  it('runs Reloader before the application, rolling what the application\'s annotations name without Argo CD seeing drift', () => {
    const values = parse(readFileSync(join(ROOT, 'deploy/platform/values/reloader.yaml'), 'utf8')) as { reloader: Record<string, unknown> };
    const overlay = renderOverlay(environment);
    const deployment = find(overlay, 'Deployment', 'shipshape');
    const reads = JSON.stringify((deployment.spec?.template as { spec: unknown }).spec);

    expect(wave(environment, 'reloader')).toBeLessThan(wave(environment, 'shipshape-applications'));
    // Annotations, not an added environment variable: staging's self-heal would revert that.
    expect(values.reloader).toMatchObject({ reloadStrategy: 'annotations', autoReloadAll: false });
    const annotations = deployment.metadata.annotations ?? {};
    expect(annotations['secret.reloader.stakater.com/reload']).toBe('shipshape-secrets');
    expect(annotations['configmap.reloader.stakater.com/reload']).toBe('shipshape-config');
    // What it watches is what the pods read, and the Secret is the one the ExternalSecret writes.
    expect(reads).toContain('"secretRef":{"name":"shipshape-secrets"}');
    expect(reads).toContain('"configMapRef":{"name":"shipshape-config"}');
    expect((find(overlay, 'ExternalSecret', 'shipshape-secrets').spec?.target as { name: string }).name).toBe('shipshape-secrets');
  });

  it('ends with this environment\'s Shipshape Application only, from deploy/argocd', () => {
    const source = applications(environment).get('shipshape-applications')?.source;

    expect(source?.path).toBe('deploy/argocd');
    expect(source?.directory?.include).toBe(`{project.yaml,application-${environment}.yaml}`);
    for (const file of ['project.yaml', `application-${environment}.yaml`]) expect(existsSync(join(ROOT, 'deploy/argocd', file)), file).toBe(true);
  });

  it('points the Alertmanager receivers at this environment\'s secret entry', () => {
    const patches = JSON.stringify(applications(environment).get('platform-config')?.source);

    const other = OVERLAYS.find((candidate) => candidate !== environment) ?? '';

    // Alertmanager's two receivers and Argo CD notifications' chat webhook.
    expect(patches.match(new RegExp(`value: shipshape/${environment}/alerting`, 'g'))).toHaveLength(3);
    expect(patches).not.toContain(`shipshape/${other}/`);
  });
});

describe('deploy/platform/config', () => {
  it('validates the ClusterIssuers, the ClusterSecretStore and the ExternalSecrets against their CRD schemas and types', async () => {
    const checked = config.filter((object) => object.apiVersion !== 'kyverno.io/v1');

    expect(checked.map((object) => `${object.kind}/${object.metadata.name}`).sort()).toEqual([
      'ClusterIssuer/letsencrypt', 'ClusterIssuer/letsencrypt-staging', 'ClusterSecretStore/shipshape-secret-store', 'ExternalSecret/alertmanager-receivers', 'ExternalSecret/argocd-notifications-secret',
    ]);
    expect(await validate(checked)).toEqual([]);
  });

  it('provides the issuers and the secret store the application\'s manifests name', () => {
    const issuers = OVERLAYS.map((overlay) => find(renderOverlay(overlay), 'Ingress', 'shipshape').metadata.annotations?.['cert-manager.io/cluster-issuer']);
    const stores = OVERLAYS.flatMap((overlay) => renderOverlay(overlay).filter((object) => object.kind === 'ExternalSecret').map((object) => (object.spec as { secretStoreRef: { name: string } }).secretStoreRef.name));
    const store = find(config, 'ClusterSecretStore', 'shipshape-secret-store').spec as { conditions: { namespaces: string[] }[] };

    for (const issuer of issuers) expect(config.some((object) => object.kind === 'ClusterIssuer' && object.metadata.name === issuer), String(issuer)).toBe(true);
    expect(new Set(stores)).toEqual(new Set(['shipshape-secret-store']));
    expect(store.conditions[0]?.namespaces.sort()).toEqual(['argocd', 'monitoring', 'shipshape-production', 'shipshape-staging']);
  });
});

describe('Alertmanager (amtool from Debian prometheus-alertmanager)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'shipshape-alertmanager-'));
  const configFile = (environment: string) => join(directory, `${environment}.yml`);

  beforeAll(() => {
    for (const environment of OVERLAYS) {
      const common = parse(readFileSync(join(ROOT, PLATFORM, 'values/kube-prometheus-stack.yaml'), 'utf8')) as { alertmanager: { config?: unknown } };
      const own = parse(readFileSync(join(ROOT, PLATFORM, `values/${environment}/kube-prometheus-stack.yaml`), 'utf8')) as { alertmanager: { config: unknown } };
      expect(common.alertmanager.config).toBeUndefined();
      writeFileSync(configFile(environment), stringify(own.alertmanager.config));
    }
    return () => rmSync(directory, { recursive: true, force: true });
  });

  async function amtool(args: string[]): Promise<{ code: number; output: string; stdout: string }> {
    try {
      const { stdout, stderr } = await promisify(execFile)('amtool', args);
      return { code: 0, output: stdout + stderr, stdout };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failure.code === 'number' ? failure.code : 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}`, stdout: failure.stdout ?? '' };
    }
  }

  async function receivers(environment: string, ...labels: string[]): Promise<string> {
    const result = await amtool(['config', 'routes', 'test', `--config.file=${configFile(environment)}`, ...labels]);
    expect(result.code, result.output).toBe(0);
    return result.stdout.trim();
  }

  it.each(OVERLAYS)('%s: passes amtool check-config', async (environment) => {
    const result = await amtool(['check-config', configFile(environment)]);

    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('rejects a route to a receiver that does not exist', async () => {
    const broken = join(directory, 'broken.yml');
    writeFileSync(broken, stringify({ route: { receiver: 'pager' }, receivers: [{ name: 'tickets' }] }));
    const result = await amtool(['check-config', broken]);

    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/undefined receiver "pager"/);
  });

  it('staging: warnings and even critical alerts become tickets, nothing pages', async () => {
    expect(await receivers('staging', 'alertname=ShipshapeHighLatency', 'severity=warning')).toBe('tickets');
    expect(await receivers('staging', 'alertname=ShipshapeErrorBudgetBurn', 'severity=critical')).toBe('tickets');
    expect(await receivers('staging', 'alertname=Watchdog', 'severity=none')).toBe('null');
  });

  it('production: critical alerts page (and leave a ticket), warnings become tickets', async () => {
    expect(await receivers('production', 'alertname=ShipshapeErrorBudgetBurn', 'severity=critical')).toBe('pager,tickets');
    expect(await receivers('production', 'alertname=ShipshapeHighLatency', 'severity=warning')).toBe('tickets');
    expect(await receivers('production', 'alertname=Watchdog', 'severity=none')).toBe('null');
  });

  it('reads every receiver endpoint from a key of the alertmanager-receivers secret', () => {
    const keys = (find(config, 'ExternalSecret', 'alertmanager-receivers').spec as { data: { secretKey: string }[] }).data.map((entry) => entry.secretKey);
    const files = OVERLAYS.flatMap((environment) => [...readFileSync(configFile(environment), 'utf8').matchAll(/_file: (\S+)/g)].map((match) => match[1] ?? ''));

    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(keys.map((key) => `/etc/alertmanager/secrets/alertmanager-receivers/${key}`), file).toContain(file);
  });
});

describe('the Kyverno policies', () => {
  interface Rule {
    name: string;
    validate?: { failureAction?: string; pattern?: { spec: { containers: { image: string }[] } }; podSecurity?: { level: string; version: string } };
    verifyImages?: { failureAction?: string; imageReferences: string[]; required?: boolean; verifyDigest?: boolean; attestors: { entries: { keyless: { issuer: string; subjectRegExp: string } }[] }[] }[];
    match: { any: { resources: { kinds: string[]; namespaces: string[] } }[] };
  }

  const rules = () => config.filter((object) => object.kind === 'ClusterPolicy').flatMap((policy) => (policy.spec as { rules: Rule[] }).rules);
  const rule = (name: string) => rules().find((candidate) => candidate.name === name) as Rule;

  /** Kyverno's wildcard pattern with `|` alternatives, as it matches a string. */
  function admits(pattern: string, value: string): boolean {
    return pattern.split('|').map((alternative) => alternative.trim()).some((alternative) => new RegExp(`^${alternative.split('*').map((part) => part.replace(/[.+?^${}()[\]\\]/g, '\\$&')).join('.*')}$`).test(value));
  }

  it('enforce (never only audit) every rule, on Pods of both application namespaces', () => {
    expect(rules().map((candidate) => candidate.name).sort()).toEqual(['allowed-image-sources', 'restricted-profile', 'signed-by-the-release-pipeline']);
    for (const candidate of rules()) {
      const actions = [candidate.validate?.failureAction, ...(candidate.verifyImages ?? []).map((verify) => verify.failureAction)].filter(Boolean);
      expect(actions, candidate.name).toEqual(['Enforce']);
      expect(candidate.match.any[0]?.resources).toEqual({ kinds: ['Pod'], namespaces: ['shipshape-staging', 'shipshape-production'] });
    }
    expect(rule('restricted-profile').validate?.podSecurity).toEqual({ level: 'restricted', version: 'latest' });
  });

  it('admit every image the overlays and the chart run, and refuse tags, other images and other registries', () => {
    const pattern = rule('allowed-image-sources').validate?.pattern?.spec.containers[0]?.image ?? '';
    const images = OVERLAYS.flatMap((overlay) => podTemplates(renderOverlay(overlay)).flatMap(({ pod }) => pod.containers.map((container) => container.image)));

    expect(images.length).toBeGreaterThan(4);
    for (const image of images) expect(admits(pattern, image), image).toBe(true);
    for (const image of ['ghcr.io/your-org/shipshape:1.2.3', 'registry.gitlab.com/your-org/shipshape:1.2.3', 'ghcr.io/someone-else/shipshape@sha256:' + '0'.repeat(64), 'docker.io/library/postgres:latest', 'docker.io/library/nginx:1.27']) {
      expect(admits(pattern, image), image).toBe(false);
    }
  });

  it('require a keyless signature from this repository\'s release workflow (GitHub) or pipeline (GitLab), on main or a v* tag', () => {
    const [verify] = rule('signed-by-the-release-pipeline').verifyImages ?? [];
    const entries = verify?.attestors[0]?.entries.map((entry) => entry.keyless) ?? [];
    const github = entries.find((entry) => entry.issuer === 'https://token.actions.githubusercontent.com');
    const gitlab = entries.find((entry) => entry.issuer === 'https://gitlab.com');

    expect(verify).toMatchObject({ required: true, verifyDigest: true });
    expect(existsSync(join(ROOT, '.github/workflows/release.yml'))).toBe(true);
    expect(new RegExp(github?.subjectRegExp ?? '^$').test('https://github.com/your-org/shipshape/.github/workflows/release.yml@refs/heads/main')).toBe(true);
    expect(new RegExp(github?.subjectRegExp ?? '^$').test('https://github.com/your-org/shipshape/.github/workflows/release.yml@refs/tags/v1.4.0')).toBe(true);
    expect(new RegExp(github?.subjectRegExp ?? '^$').test('https://github.com/your-org/shipshape/.github/workflows/ci.yml@refs/heads/main')).toBe(false);
    expect(new RegExp(github?.subjectRegExp ?? '^$').test('https://github.com/your-org/shipshape/.github/workflows/release.yml@refs/heads/feature')).toBe(false);
    expect(new RegExp(gitlab?.subjectRegExp ?? '^$').test('https://gitlab.com/your-org/shipshape//.gitlab-ci.yml@refs/heads/main')).toBe(true);
    expect(new RegExp(gitlab?.subjectRegExp ?? '^$').test('https://gitlab.com/mallory/shipshape//.gitlab-ci.yml@refs/heads/main')).toBe(false);
  });
});

describe('the platform and infra/ agree', () => {
  it('binds each Pod Identity role to the namespace and service account its chart runs as', async () => {
    const cluster = await loadModule(join(ROOT, 'infra/modules/cluster'));
    const workloads = cluster.locals.workloads as Record<string, { namespace: string; service_account: string }>;
    const platform = applications('production');
    const values = (chart: string) => parse(readFileSync(join(ROOT, PLATFORM, `values/${chart}.yaml`), 'utf8')) as Record<string, Record<string, unknown>>;
    const bound = (chart: string) => ({ namespace: platform.get(chart)?.destination.namespace, service_account: workloads[chart]?.service_account });

    expect(bound('external-secrets')).toEqual({ namespace: workloads['external-secrets']?.namespace, service_account: (values('external-secrets').serviceAccount as { name: string }).name });
    expect(bound('aws-load-balancer-controller')).toEqual({ namespace: workloads['aws-load-balancer-controller']?.namespace, service_account: (values('aws-load-balancer-controller').serviceAccount as { name: string }).name });
    expect(bound('cluster-autoscaler')).toEqual({ namespace: workloads['cluster-autoscaler']?.namespace, service_account: (values('cluster-autoscaler').rbac as { serviceAccount: { name: string } }).serviceAccount.name });
    expect(bound('velero')).toEqual({ namespace: workloads.velero?.namespace, service_account: ((values('velero').serviceAccount as { server: { name: string } }).server).name });
    expect(bound('cert-manager')).toEqual({ namespace: workloads['cert-manager']?.namespace, service_account: 'cert-manager' });
  });
});
