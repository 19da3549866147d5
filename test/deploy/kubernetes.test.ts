/**
 * Offline checks of deploy/: every overlay renders (kubectl 1.33 kustomize), every object
 * validates against the Kubernetes API schemas (kubernetes-models 5.1, pinned) or its CRD's
 * (Argo CD, Prometheus Operator, External Secrets), and policy over what would be applied:
 * Pod Security "restricted", probes and resources, pinned images, no committed secrets,
 * default-deny networking, and staging and production differing only where intended.
 * What needs a live cluster (server-side dry run, admission, a kind e2e) is in deploy/README.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { renderPrometheusRule, RULES_FILE } from '../../scripts/monitoring/generate-prometheusrule.ts';
import { schemaErrors, unknownFieldErrors } from '../helpers/kube-schemas.ts';
import { type Container, find, type KubeObject, kustomize, OVERLAYS, type Overlay, podTemplates, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

const rendered = {} as Record<Overlay, KubeObject[]>;
let argocd: KubeObject[];

beforeAll(() => {
  for (const overlay of OVERLAYS) rendered[overlay] = renderOverlay(overlay);
  argocd = kustomize('deploy/argocd');
});

describe.each(OVERLAYS)('the %s overlay', (overlay) => {
  const namespace = `shipshape-${overlay}`;
  const objects = () => rendered[overlay];
  const containers = () => podTemplates(objects()).flatMap(({ owner, kind, pod }) => pod.containers.map((container) => ({ owner, kind, container })));

  it('renders, with every namespaced object in its own namespace', () => {
    expect(objects().length).toBeGreaterThan(10);
    for (const object of objects()) {
      if (object.kind === 'Namespace') expect(object.metadata.name).toBe(namespace);
      else expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(namespace);
    }
  });

  it('validates every object against the Kubernetes API and CRD schemas', async () => {
    const problems: string[] = [];
    for (const object of objects()) {
      const error = await schemaErrors(object);
      if (error) problems.push(`${object.kind}/${object.metadata.name}: ${error}`);
    }
    expect(problems).toEqual([]);
  });

  it('uses no field the Kubernetes API and CRD types do not know', () => {
    expect(unknownFieldErrors(objects())).toEqual([]);
  });

  it('labels its Namespace to enforce Pod Security "restricted"', () => {
    expect(find(objects(), 'Namespace', namespace).metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
    });
  });

  it('meets Pod Security "restricted" in every Pod template', () => {
    const allowedVolumes = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
    for (const { owner, pod } of podTemplates(objects())) {
      expect(pod.hostNetwork ?? false, owner).toBe(false);
      expect(pod.hostPID ?? false, owner).toBe(false);
      expect(pod.hostIPC ?? false, owner).toBe(false);
      expect(pod.automountServiceAccountToken, owner).toBe(false);
      for (const volume of pod.volumes ?? []) {
        const types = Object.keys(volume).filter((key) => key !== 'name');
        expect(types.every((type) => allowedVolumes.has(type)), `${owner} volume ${String(volume.name)}`).toBe(true);
      }
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        const where = `${owner} container ${container.name}`;
        const context = container.securityContext ?? {};
        expect(context.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(context.runAsUser ?? pod.securityContext?.runAsUser, where).toBeGreaterThan(0);
        expect(context.allowPrivilegeEscalation, where).toBe(false);
        expect(context.privileged ?? false, where).toBe(false);
        expect(context.capabilities?.drop, where).toEqual(['ALL']);
        expect((context.capabilities?.add ?? []).filter((capability) => capability !== 'NET_BIND_SERVICE'), where).toEqual([]);
        expect(context.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type, where).toMatch(/^(RuntimeDefault|Localhost)$/);
        expect(context.readOnlyRootFilesystem, where).toBe(true);
      }
    }
  });

  it('gives every container requests and limits, and every long-running one startup, liveness and readiness probes', () => {
    for (const { owner, kind, container } of containers()) {
      const where = `${owner} container ${container.name}`;
      for (const resource of ['cpu', 'memory']) {
        expect(container.resources?.requests?.[resource], `${where} requests.${resource}`).toBeDefined();
        expect(container.resources?.limits?.[resource], `${where} limits.${resource}`).toBeDefined();
      }
      if (kind === 'Job' || kind === 'CronJob') continue;
      expect(container.startupProbe, where).toBeDefined();
      expect(container.livenessProbe, where).toBeDefined();
      expect(container.readinessProbe, where).toBeDefined();
    }
  });

  it('pins every image: the app by digest, nothing by "latest" or without a tag', () => {
    for (const { owner, container } of containers()) {
      const where = `${owner} container ${container.name}`;
      expect(container.image, where).toMatch(/(@sha256:[0-9a-f]{64}|:[\w][\w.-]{0,127})$/);
      expect(container.image, where).not.toMatch(/:latest(@|$)/);
    }
    const app = containers().filter(({ container }) => container.name === 'shipshape' || container.name === 'migrate');
    expect(app).toHaveLength(2);
    for (const { container } of app) expect(container.image).toMatch(/^[^@\s]+@sha256:[0-9a-f]{64}$/);
  });

  it('denies all traffic by default, then lets in only the ingress controller and Prometheus', () => {
    const policies = objects().filter((object) => object.kind === 'NetworkPolicy');
    const defaultDeny = policies.find((policy) => policy.metadata.name === 'default-deny-all');

    expect(defaultDeny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const ingressSources = policies
      .filter((policy) => (policy.spec?.policyTypes as string[]).includes('Ingress') && policy.spec?.ingress)
      .flatMap((policy) => (policy.spec?.ingress as { from: { namespaceSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: string | number }[] }[]).map((rule) => ({ policy: policy.metadata.name, rule })));
    const fromNamespaces = ingressSources
      .filter(({ policy }) => policy.startsWith('shipshape-'))
      .map(({ rule }) => `${rule.from[0]?.namespaceSelector?.matchLabels['kubernetes.io/metadata.name']}:${String(rule.ports[0]?.port)}`);
    expect(fromNamespaces.sort()).toEqual(['ingress-nginx:http', 'monitoring:metrics']);
  });

  it('lets Shipshape out to DNS, its database and the trace collector only', () => {
    const egress = objects()
      .filter((object) => object.kind === 'NetworkPolicy' && (object.spec?.policyTypes as string[]).includes('Egress') && object.spec?.egress)
      .flatMap((policy) => (policy.spec?.egress as { ports: { port: number }[] }[]).flatMap((rule) => rule.ports.map((port) => port.port)));

    expect([...new Set(egress)].sort()).toEqual([4318, 53, 5432]);
  });

  it('sends traces to the collector the NetworkPolicy lets the app reach: its namespace and port', () => {
    const endpoint = new URL(find(objects(), 'ConfigMap', 'shipshape-config').data?.OTEL_EXPORTER_OTLP_ENDPOINT ?? '');
    const policy = find(objects(), 'NetworkPolicy', 'shipshape-allow-otel-collector').spec as {
      podSelector: { matchLabels: Record<string, string> };
      egress: { to: { namespaceSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    };
    const [, namespace] = endpoint.hostname.split('.');

    expect(policy.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'shipshape', 'app.kubernetes.io/component': 'web' });
    expect(policy.egress[0]?.to[0]?.namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe(namespace);
    expect(policy.egress[0]?.ports.map((port) => port.port)).toEqual([Number(endpoint.port)]);
  });

  it('drains as the app expects: no pod down during a rollout, grace period covering preStop and the drain', () => {
    const deployment = find(objects(), 'Deployment', 'shipshape');
    const config = find(objects(), 'ConfigMap', 'shipshape-config').data ?? {};
    const [pod] = podTemplates([deployment]);
    const container = pod?.pod.containers[0] as Container;
    const drain = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) + Number(config.SHUTDOWN_DELAY_SECONDS) + Number(config.SHUTDOWN_TIMEOUT_SECONDS);

    expect(deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(container.lifecycle?.preStop?.sleep?.seconds).toBeGreaterThan(0);
    expect(pod?.pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.ports?.find((port) => port.name === 'metrics')?.containerPort).toBe(Number(config.METRICS_PORT));
    expect(container.ports?.find((port) => port.name === 'http')?.containerPort).toBe(Number(config.PORT));
  });

  it('reads secrets from an ExternalSecret for its own environment, and commits none', () => {
    const externalSecret = find(objects(), 'ExternalSecret', 'shipshape-secrets');
    const keys = (externalSecret.spec?.data as { secretKey: string; remoteRef: { key: string } }[]).map((entry) => [entry.secretKey, entry.remoteRef.key]);

    expect(keys).toEqual([
      ['DATABASE_URL', `shipshape/${overlay}`],
      ['JWT_SECRET', `shipshape/${overlay}`],
      ['SESSION_SECRET', `shipshape/${overlay}`],
    ]);
    expect(objects().filter((object) => object.kind === 'Secret')).toEqual([]);
  });

  it('migrates in an Argo CD Sync hook after what it needs and before the Deployment, with the same image, safe to recreate', () => {
    const job = find(objects(), 'Job', 'shipshape-migrate');
    const [template] = podTemplates([job]);
    const app = podTemplates([find(objects(), 'Deployment', 'shipshape')])[0]?.pod.containers[0];

    expect(job.metadata.annotations).toMatchObject({ 'argocd.argoproj.io/hook': 'Sync', 'argocd.argoproj.io/sync-wave': '-1', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' });
    // A new cluster's first sync: the Namespace, then what the Job uses, each in an earlier wave.
    const wave = (kind: string, name: string) => Number(find(objects(), kind, name).metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? '0');
    expect(wave('Namespace', `shipshape-${overlay}`)).toBeLessThan(wave('ServiceAccount', 'shipshape'));
    expect(Math.max(wave('ServiceAccount', 'shipshape'), wave('ExternalSecret', 'shipshape-secrets'))).toBeLessThan(-1);
    if (overlay === 'staging') expect(Math.max(wave('StatefulSet', 'postgres'), wave('Service', 'postgres'), wave('ExternalSecret', 'postgres-credentials'))).toBeLessThan(-1);
    expect(wave('Deployment', 'shipshape')).toBe(0);
    expect(template?.pod.containers[0]?.command).toEqual(['node', 'dist/cli.js', 'migrate']);
    expect(template?.pod.containers[0]?.image).toBe(app?.image);
  });

  it('routes its hostname over TLS from cert-manager to the app port, never to metrics', () => {
    const ingress = find(objects(), 'Ingress', 'shipshape');
    const spec = ingress.spec as { tls: { hosts: string[]; secretName: string }[]; rules: { host: string; http: { paths: { backend: { service: { port: { name: string } } } }[] } }[] };

    expect(ingress.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBeTruthy();
    expect(spec.tls[0]?.hosts).toEqual([spec.rules[0]?.host]);
    expect(spec.rules.flatMap((rule) => rule.http.paths.map((path) => path.backend.service.port.name))).toEqual(['http']);
  });

  it('scrapes the metrics port the Service exposes, with the generated rules', () => {
    const service = find(objects(), 'Service', 'shipshape');
    const monitor = find(objects(), 'ServiceMonitor', 'shipshape');

    expect((service.spec?.ports as { name: string }[]).map((port) => port.name)).toContain('metrics');
    expect(monitor.spec?.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    expect(find(objects(), 'PrometheusRule', 'shipshape').spec?.groups).toBeDefined();
  });
});

/** An overlay with the differences we intend between environments taken out. */
function comparable(overlay: Overlay): Map<string, unknown> {
  const environmentOnly = new Set(['StatefulSet/postgres', 'Service/postgres', 'ExternalSecret/postgres-credentials', 'NetworkPolicy/postgres-allow-shipshape', 'NetworkPolicy/shipshape-allow-database', 'ConfigMap/shipshape-dashboard', 'PersistentVolumeClaim/postgres-backups', 'CronJob/postgres-backup', 'NetworkPolicy/postgres-backup-egress']);
  const result = new Map<string, unknown>();
  for (const object of rendered[overlay]) {
    const key = `${object.kind}/${object.metadata.name}`.replace(`shipshape-${overlay}`, 'NAMESPACE');
    if (environmentOnly.has(key)) continue;
    const text = JSON.stringify(object)
      .replaceAll(`shipshape-${overlay}`, 'NAMESPACE')
      .replaceAll(`shipshape/${overlay}`, 'SECRET_KEY')
      .replace(/"environment":"(staging|production)"/g, '"environment":"ENV"')
      .replace(/shipshape(\.staging)?\.example\.com/g, 'HOST')
      .replace(/letsencrypt(-staging)?/g, 'ISSUER')
      .replace(/"image":"[^"]+"/g, '"image":"IMAGE"');
    const copy = JSON.parse(text) as KubeObject;
    if (copy.kind === 'Deployment') {
      delete copy.spec?.replicas;
      const pod = (copy.spec?.template as { spec: { containers: Container[] } }).spec;
      for (const container of pod.containers) delete container.resources;
    }
    if (copy.kind === 'HorizontalPodAutoscaler') {
      delete copy.spec?.minReplicas;
      delete copy.spec?.maxReplicas;
    }
    if (copy.kind === 'ConfigMap' && copy.data) delete copy.data.LOG_LEVEL;
    result.set(key, copy);
  }
  return result;
}

describe('staging and production', () => {
  it('differ only where intended: namespace, host, replicas, resources, image, database, log level', () => {
    const staging = comparable('staging');
    const production = comparable('production');

    expect([...production.keys()].sort()).toEqual([...staging.keys()].sort());
    for (const [key, object] of staging) expect(production.get(key), key).toEqual(object);
  });

  it('size production above staging', () => {
    const replicas = (overlay: Overlay) => find(rendered[overlay], 'Deployment', 'shipshape').spec?.replicas as number;
    const bounds = (overlay: Overlay) => find(rendered[overlay], 'HorizontalPodAutoscaler', 'shipshape').spec as { minReplicas: number; maxReplicas: number };

    expect(replicas('staging')).toBe(2);
    expect(replicas('production')).toBeGreaterThan(replicas('staging'));
    expect(bounds('production').minReplicas).toBe(replicas('production'));
    expect(bounds('production').maxReplicas).toBeGreaterThan(bounds('staging').maxReplicas);
  });

  it('run staging on its own PostgreSQL with a volume, and production on a managed database', () => {
    const postgres = find(rendered.staging, 'StatefulSet', 'postgres');

    expect((postgres.spec?.volumeClaimTemplates as unknown[]).length).toBe(1);
    expect(rendered.production.some((object) => object.kind === 'StatefulSet')).toBe(false);
    // Staging backs its database up daily to a claim of its own; production's managed database has point-in-time recovery.
    const backup = find(rendered.staging, 'CronJob', 'postgres-backup');
    expect((backup.spec as { concurrencyPolicy: string }).concurrencyPolicy).toBe('Forbid');
    expect(JSON.stringify(backup)).toContain('pg_dump --format=custom');
    expect(rendered.production.some((object) => object.kind === 'CronJob')).toBe(false);
    const productionEgress = find(rendered.production, 'NetworkPolicy', 'shipshape-allow-database').spec?.egress as { to: { ipBlock?: { cidr: string } }[] }[];
    expect(productionEgress[0]?.to[0]?.ipBlock?.cidr).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
  });
});

describe('Argo CD', () => {
  it('validates against the Argo CD schemas and types', async () => {
    const problems = (await Promise.all(argocd.map(async (object) => [object.metadata.name, await schemaErrors(object)]))).filter(([, error]) => error);

    expect(problems).toEqual([]);
    expect(unknownFieldErrors(argocd)).toEqual([]);
  });

  it('would catch a misspelt field', () => {
    const deployment = structuredClone(find(rendered.staging, 'Deployment', 'shipshape'));
    const container = (deployment.spec?.template as { spec: { containers: Record<string, unknown>[] } }).spec.containers[0];
    if (container) container.readinesProbe = container.readinessProbe;

    expect(unknownFieldErrors([deployment]).join('\n')).toMatch(/readinesProbe\W{0,3} does not exist in type 'IContainer'/);
  });

  it('fences the project to this repository and the two namespaces', () => {
    const project = find(argocd, 'AppProject', 'shipshape').spec as { sourceRepos: string[]; destinations: { namespace: string }[]; clusterResourceWhitelist: { kind: string }[] };

    expect(project.sourceRepos).toHaveLength(1);
    expect(project.destinations.map((destination) => destination.namespace).sort()).toEqual(['shipshape-production', 'shipshape-staging']);
    expect(project.clusterResourceWhitelist).toEqual([{ group: '', kind: 'Namespace' }]);
  });

  it('syncs staging automatically with prune and self-heal, and production only by hand', () => {
    const staging = find(argocd, 'Application', 'shipshape-staging').spec as { syncPolicy: { automated?: unknown } };
    const production = find(argocd, 'Application', 'shipshape-production').spec as { syncPolicy: { automated?: unknown } };

    expect(staging.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(production.syncPolicy.automated).toBeUndefined();
  });

  it.each(OVERLAYS)('points the %s application at its overlay and namespace, in the project', (overlay) => {
    const spec = find(argocd, 'Application', `shipshape-${overlay}`).spec as { project: string; source: { repoURL: string; path: string }; destination: { namespace: string } };
    const project = find(argocd, 'AppProject', 'shipshape').spec as { sourceRepos: string[] };

    expect(spec.project).toBe('shipshape');
    expect(project.sourceRepos).toContain(spec.source.repoURL);
    expect(spec.source.path).toBe(`deploy/kubernetes/overlays/${overlay}`);
    expect(existsSync(join(ROOT, spec.source.path, 'kustomization.yaml'))).toBe(true);
    expect(spec.destination.namespace).toBe(`shipshape-${overlay}`);
  });
});

function yamlFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

describe('files under deploy/', () => {
  it('commit no Secret with data', () => {
    const secrets = yamlFiles(join(ROOT, 'deploy')).flatMap((file) =>
      parseAllDocuments(readFileSync(file, 'utf8'))
        .map((document) => document.toJS() as Partial<KubeObject> | null)
        .filter((object) => object?.kind === 'Secret' && (object.data || object.stringData))
        .map(() => relative(ROOT, file)),
    );

    expect(secrets).toEqual([]);
  });

  it('pass yamllint', () => {
    execFileSync('yamllint', ['--strict', '-c', join(ROOT, '.yamllint.yaml'), join(ROOT, 'deploy')], { encoding: 'utf8' });
  });

  it('carry a PrometheusRule generated from the rules file (npm run monitoring:generate)', () => {
    const committed = readFileSync(join(ROOT, 'deploy/monitoring/kubernetes/prometheusrule.yaml'), 'utf8');

    expect(committed).toBe(renderPrometheusRule(readFileSync(RULES_FILE, 'utf8')));
  });
});

describe('Prometheus rules', () => {
  it('pass promtool check rules', () => {
    const output = execFileSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });

    expect(output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('pass their promtool unit tests: every alert firing and staying silent', () => {
    const tests = join(ROOT, 'deploy/monitoring/prometheus/tests/shipshape.rules.test.yml');
    const output = execFileSync('promtool', ['test', 'rules', tests], { encoding: 'utf8' });
    const tested = new Set([...readFileSync(tests, 'utf8').matchAll(/alertname: (\w+)/g)].map((match) => match[1]));
    const alerts = [...readFileSync(RULES_FILE, 'utf8').matchAll(/- alert: (\w+)/g)].map((match) => match[1]);

    expect(output).toContain('SUCCESS');
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const alert of alerts) expect(tested.has(alert), `${alert} has no promtool test`).toBe(true);
  });
});
