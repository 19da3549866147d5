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
import { parse, parseAllDocuments } from 'yaml';
import { renderPrometheusRule, RULES_FILE } from '../../scripts/monitoring/generate-prometheusrule.ts';
import { schemaErrors, unknownFieldErrors } from '../helpers/kube-schemas.ts';
import { type Container, find, type KubeObject, kustomize, OVERLAYS, type Overlay, type PodSpec, podTemplates, quantity, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

const rendered = {} as Record<Overlay, KubeObject[]>;
let argocd: KubeObject[];

beforeAll(() => {
  for (const overlay of OVERLAYS) rendered[overlay] = renderOverlay(overlay);
  argocd = kustomize('deploy/argocd');
});

/**
 * How many pods of a workload can exist at once, at worst: the autoscaled maximum plus a rolling
 * update's surge; for a canary that splits traffic at the ingress, the stable pods plus as many
 * canary pods again (at 100% both sets run until the old one is scaled down).
 */
function peakPods(objects: KubeObject[], workload: KubeObject): number {
  const spec = workload.spec as {
    replicas?: number; parallelism?: number; concurrencyPolicy?: string;
    strategy?: { rollingUpdate?: { maxSurge?: number | string }; canary?: { maxSurge?: number | string; trafficRouting?: unknown; dynamicStableScale?: boolean } };
  };
  const autoscaler = objects.find((object) => object.kind === 'HorizontalPodAutoscaler' && (object.spec?.scaleTargetRef as { kind: string; name: string }).name === workload.metadata.name && (object.spec?.scaleTargetRef as { kind: string }).kind === workload.kind);
  const surge = (replicas: number, value: number | string = '25%') => (typeof value === 'number' ? value : Math.ceil((replicas * Number(value.replace('%', ''))) / 100));
  switch (workload.kind) {
    case 'Deployment':
    case 'Rollout': {
      const replicas = Math.max(spec.replicas ?? 1, (autoscaler?.spec?.maxReplicas as number | undefined) ?? 0);
      // A Deployment kept at zero as a Rollout's template never starts a pod, surge or not.
      if (replicas === 0) return 0;
      const canary = spec.strategy?.canary;
      if (canary?.trafficRouting && !canary.dynamicStableScale) return 2 * replicas;
      return replicas + surge(replicas, spec.strategy?.rollingUpdate?.maxSurge ?? canary?.maxSurge);
    }
    case 'StatefulSet':
      return spec.replicas ?? 1;
    case 'Job':
      return spec.parallelism ?? 1;
    case 'CronJob':
      // Forbid: never two runs at once. Any other policy lets runs pile up: no fixed peak.
      if (spec.concurrencyPolicy !== 'Forbid') throw new Error(`CronJob/${workload.metadata.name} may run twice at once`);
      return 1;
    default:
      throw new Error(`no peak for ${workload.kind}`);
  }
}

/** The namespace's worst moment, in ResourceQuota's terms, computed from what is rendered. */
function peakUsage(objects: KubeObject[]): Record<string, number> {
  const usage: Record<string, number> = { 'requests.cpu': 0, 'requests.memory': 0, 'limits.cpu': 0, 'limits.memory': 0, pods: 0, persistentvolumeclaims: 0, 'requests.storage': 0, 'services.loadbalancers': 0, 'services.nodeports': 0 };
  for (const { pod, owner } of podTemplates(objects)) {
    const workload = objects.find((candidate) => `${candidate.kind}/${candidate.metadata.name}` === owner) as KubeObject;
    const pods = peakPods(objects, workload);
    usage.pods = (usage.pods ?? 0) + pods;
    for (const [kind, resource] of [['requests', 'cpu'], ['requests', 'memory'], ['limits', 'cpu'], ['limits', 'memory']] as const) {
      const sum = pod.containers.reduce((total, container) => total + quantity(container.resources?.[kind]?.[resource] ?? 0), 0);
      const init = Math.max(0, ...(pod.initContainers ?? []).map((container) => quantity(container.resources?.[kind]?.[resource] ?? 0)));
      usage[`${kind}.${resource}`] = (usage[`${kind}.${resource}`] ?? 0) + pods * Math.max(sum, init);
    }
    for (const claim of (workload.spec?.volumeClaimTemplates as { spec: { resources: { requests: { storage: string } } } }[] | undefined) ?? []) {
      usage.persistentvolumeclaims = (usage.persistentvolumeclaims ?? 0) + pods;
      usage['requests.storage'] = (usage['requests.storage'] ?? 0) + pods * quantity(claim.spec.resources.requests.storage);
    }
  }
  for (const claim of objects.filter((object) => object.kind === 'PersistentVolumeClaim')) {
    usage.persistentvolumeclaims = (usage.persistentvolumeclaims ?? 0) + 1;
    usage['requests.storage'] = (usage['requests.storage'] ?? 0) + quantity((claim.spec as { resources: { requests: { storage: string } } }).resources.requests.storage);
  }
  for (const service of objects.filter((object) => object.kind === 'Service')) {
    const type = (service.spec?.type as string | undefined) ?? 'ClusterIP';
    if (type === 'LoadBalancer') usage['services.loadbalancers'] = (usage['services.loadbalancers'] ?? 0) + 1;
    if (type === 'LoadBalancer' || type === 'NodePort') usage['services.nodeports'] = (usage['services.nodeports'] ?? 0) + 1;
  }
  return usage;
}

/** Each SSO group's rights in a namespace: the (Cluster)Roles its RoleBindings grant. */
function grants(objects: KubeObject[]): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (const binding of objects.filter((object) => object.kind === 'RoleBinding')) {
    const roleRef = binding.roleRef as { kind: string; name: string };
    for (const subject of binding.subjects as { kind: string; name: string }[]) {
      const key = `${subject.kind}:${subject.name}`;
      result[key] = [...(result[key] ?? []), `${roleRef.kind}/${roleRef.name}`].sort();
    }
  }
  return result;
}

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
    // A Rollout with a workloadRef runs its Deployment's template: the same container, once.
    // Production also smoke-tests each sync from the app's image (components/smoke-test).
    const appContainers = overlay === 'production' ? ['shipshape', 'migrate', 'smoke'] : ['shipshape', 'migrate'];
    const app = containers().filter(({ kind, container }) => kind !== 'Rollout' && appContainers.includes(container.name));
    expect(app).toHaveLength(appContainers.length);
    for (const { container } of app) expect(container.image).toMatch(/^[^@\s]+@sha256:[0-9a-f]{64}$/);
  });

  it('denies all traffic by default, then lets in only the ingress controller, Prometheus and, in production, the smoke test', () => {
    const policies = objects().filter((object) => object.kind === 'NetworkPolicy');
    const defaultDeny = policies.find((policy) => policy.metadata.name === 'default-deny-all');

    expect(defaultDeny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const ingressSources = policies
      .filter((policy) => (policy.spec?.policyTypes as string[]).includes('Ingress') && policy.spec?.ingress)
      .flatMap((policy) => (policy.spec?.ingress as { from: { namespaceSelector?: { matchLabels: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } }[]; ports: { port: string | number }[] }[]).map((rule) => ({ policy: policy.metadata.name, rule })));
    // A peer with a namespaceSelector is another namespace's pods; without one, this namespace's.
    const sources = ingressSources
      .filter(({ policy }) => policy.startsWith('shipshape-'))
      .map(({ rule }) => `${rule.from[0]?.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? `own namespace's ${String(rule.from[0]?.podSelector?.matchLabels['app.kubernetes.io/component'])}`}:${String(rule.ports[0]?.port)}`);
    const expected = overlay === 'production' ? ['ingress-nginx:http', 'monitoring:metrics', "own namespace's smoke:http"] : ['ingress-nginx:http', 'monitoring:metrics'];
    expect(sources.sort()).toEqual(expected);
  });

  it('lets Shipshape out to DNS, its database and the trace collector only, and production\'s smoke test to the app', () => {
    const egress = objects()
      .filter((object) => object.kind === 'NetworkPolicy' && (object.spec?.policyTypes as string[]).includes('Egress') && object.spec?.egress)
      .flatMap((policy) => (policy.spec?.egress as { ports: { port: number }[] }[]).flatMap((rule) => rule.ports.map((port) => port.port)));

    // 3000: the app's port, for the smoke test's pod only (test/deploy/smoke-hook.test.ts).
    expect([...new Set(egress)].sort()).toEqual(overlay === 'production' ? [3000, 4318, 53, 5432] : [4318, 53, 5432]);
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
      ['JWT_SECRETS', `shipshape/${overlay}`],
      ['SESSION_SECRETS', `shipshape/${overlay}`],
    ]);
    expect(objects().filter((object) => object.kind === 'Secret')).toEqual([]);
  });

  it('pulls the app image with registry credentials from an ExternalSecret of its own environment, in every pod that runs it', () => {
    const pullSecret = find(objects(), 'ExternalSecret', 'shipshape-registry').spec as {
      target: { name: string; template: { type: string; data: Record<string, string> } };
      data: { secretKey: string; remoteRef: { key: string; property: string } }[];
    };
    expect(pullSecret.target.template.type).toBe('kubernetes.io/dockerconfigjson');
    expect(Object.keys(pullSecret.target.template.data)).toEqual(['.dockerconfigjson']);
    expect(pullSecret.data.map((entry) => [entry.secretKey, entry.remoteRef.key, entry.remoteRef.property])).toEqual([
      ['server', `shipshape/${overlay}/registry`, 'server'],
      ['username', `shipshape/${overlay}/registry`, 'username'],
      ['password', `shipshape/${overlay}/registry`, 'password'],
    ]);

    // Every pod template with a container from the app's (private) repository, whatever its kind.
    const appRepository = (find(objects(), 'Job', 'shipshape-migrate').spec?.template as { spec: PodSpec }).spec.containers[0]?.image.split('@')[0] ?? '';
    const pullers = podTemplates(objects()).filter(({ pod }) => [...pod.containers, ...(pod.initContainers ?? [])].some((container) => container.image.startsWith(`${appRepository}@`)));
    expect(pullers.map(({ owner }) => owner)).toContain('Job/shipshape-migrate');
    expect(pullers.some(({ owner }) => /^(Deployment|Rollout)\/shipshape$/.test(owner))).toBe(true);
    for (const { owner, pod } of pullers) {
      const account = objects().find((object) => object.kind === 'ServiceAccount' && object.metadata.name === pod.serviceAccountName);
      const secrets = [...((account?.imagePullSecrets as { name: string }[] | undefined) ?? []), ...(pod.imagePullSecrets ?? [])].map((secret) => secret.name);
      expect(secrets, owner).toContain(pullSecret.target.name);
    }
  });

  it('has a ResourceQuota that holds its peak: autoscaled maximum plus surge, the migration and smoke test Jobs, its database and backups', () => {
    const hard = find(objects(), 'ResourceQuota', 'shipshape').spec?.hard as Record<string, string>;
    const peak = peakUsage(objects());

    expect(Object.keys(hard).sort()).toEqual(Object.keys(peak).sort());
    for (const [resource, needed] of Object.entries(peak)) expect(quantity(hard[resource] ?? 'missing'), `${resource}: needs ${needed}`).toBeGreaterThanOrEqual(needed);
    expect(hard['services.loadbalancers']).toBe('0');
    // And is applied with the Namespace, before any pod.
    expect(find(objects(), 'ResourceQuota', 'shipshape').metadata.annotations?.['argocd.argoproj.io/sync-wave']).toBe('-3');
  });

  it('keeps every container and volume claim inside its LimitRange', () => {
    const limits = find(objects(), 'LimitRange', 'shipshape').spec?.limits as { type: string; min?: Record<string, string>; max: Record<string, string>; default?: Record<string, string>; defaultRequest?: Record<string, string> }[];
    const forContainers = limits.find((limit) => limit.type === 'Container');
    const forClaims = limits.find((limit) => limit.type === 'PersistentVolumeClaim');

    for (const resource of ['cpu', 'memory']) {
      const [min, max] = [quantity(forContainers?.min?.[resource] ?? 'missing'), quantity(forContainers?.max[resource] ?? 'missing')];
      expect(quantity(forContainers?.defaultRequest?.[resource] ?? 'missing')).toBeGreaterThanOrEqual(min);
      expect(quantity(forContainers?.default?.[resource] ?? 'missing')).toBeLessThanOrEqual(max);
      for (const { owner, container } of containers()) {
        expect(quantity(container.resources?.requests?.[resource] ?? 0), `${owner} requests.${resource}`).toBeGreaterThanOrEqual(min);
        expect(quantity(container.resources?.limits?.[resource] ?? 'missing'), `${owner} limits.${resource}`).toBeLessThanOrEqual(max);
      }
    }
    const claims = [
      ...objects().filter((object) => object.kind === 'PersistentVolumeClaim').map((claim) => claim.spec),
      ...objects().flatMap((object) => ((object.spec?.volumeClaimTemplates as { spec: Record<string, unknown> }[] | undefined) ?? []).map((template) => template.spec)),
    ] as { resources: { requests: { storage: string } } }[];
    for (const claim of claims) expect(quantity(claim.resources.requests.storage)).toBeLessThanOrEqual(quantity(forClaims?.max.storage ?? 'missing'));
  });

  it('grants people access by their SSO group only: developers edit staging and read production, release managers also operate production', () => {
    const expected: Record<Overlay, Record<string, string[]>> = {
      staging: { 'Group:shipshape-developers': ['ClusterRole/edit'], 'Group:shipshape-release-managers': ['ClusterRole/edit'] },
      production: { 'Group:shipshape-developers': ['ClusterRole/view'], 'Group:shipshape-release-managers': ['ClusterRole/view', 'Role/release-manager'] },
    };

    expect(grants(objects())).toEqual(expected[overlay]);
    // No Role of the application's reads Secrets or runs commands in pods.
    for (const role of objects().filter((object) => object.kind === 'Role')) {
      for (const rule of role.rules as { resources: string[]; verbs: string[] }[]) {
        expect(rule.resources.filter((resource) => ['secrets', 'pods/exec', 'pods/attach', 'pods/portforward', '*'].includes(resource)), role.metadata.name).toEqual([]);
        expect(rule.verbs, role.metadata.name).not.toContain('*');
      }
    }
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

  it('scrapes the metrics port through its own Service, never exposed by the traffic Service, with the generated rules', () => {
    const traffic = find(objects(), 'Service', 'shipshape');
    const metrics = find(objects(), 'Service', 'shipshape-metrics');
    const monitor = find(objects(), 'ServiceMonitor', 'shipshape');

    expect((traffic.spec?.ports as { name: string }[]).map((port) => port.name)).toEqual(['http']);
    expect((metrics.spec?.ports as { name: string }[]).map((port) => port.name)).toEqual(['metrics']);
    expect((monitor.spec?.selector as { matchLabels: Record<string, string> }).matchLabels).toEqual({ 'app.kubernetes.io/name': 'shipshape', 'app.kubernetes.io/component': 'metrics' });
    expect(metrics.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'shipshape', 'app.kubernetes.io/component': 'metrics' });
    expect(monitor.spec?.endpoints).toEqual([expect.objectContaining({ port: 'metrics', path: '/metrics' })]);
    expect(find(objects(), 'PrometheusRule', 'shipshape').spec?.groups).toBeDefined();
  });
});

/** An overlay with the differences we intend between environments taken out. */
function comparable(overlay: Overlay): Map<string, unknown> {
  // Production's canary (components/canary, test/deploy/canary.test.ts), its PostSync smoke test
  // (components/smoke-test, test/deploy/smoke-hook.test.ts) and staging's database.
  const environmentOnly = new Set(['Job/shipshape-smoke', 'NetworkPolicy/shipshape-allow-smoke', 'NetworkPolicy/shipshape-smoke-egress', 'Rollout/shipshape', 'AnalysisTemplate/shipshape-slo', 'Service/shipshape-canary', 'StatefulSet/postgres', 'Service/postgres', 'ExternalSecret/postgres-credentials', 'NetworkPolicy/postgres-allow-shipshape', 'NetworkPolicy/shipshape-allow-database', 'ConfigMap/shipshape-dashboard', 'PersistentVolumeClaim/postgres-backups', 'CronJob/postgres-backup', 'NetworkPolicy/postgres-backup-egress']);
  const result = new Map<string, unknown>();
  for (const object of rendered[overlay]) {
    const key = `${object.kind}/${object.metadata.name}`.replace(`shipshape-${overlay}`, 'NAMESPACE');
    // Guardrails and people's access are sized and granted per environment by design (tested above).
    if (environmentOnly.has(key) || ['ResourceQuota', 'LimitRange', 'Role', 'RoleBinding'].includes(object.kind)) continue;
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
      // The Deployment in staging, the canary Rollout in production.
      delete copy.spec?.scaleTargetRef;
      delete copy.spec?.minReplicas;
      delete copy.spec?.maxReplicas;
    }
    if (copy.kind === 'ConfigMap' && copy.data) delete copy.data.LOG_LEVEL;
    result.set(key, copy);
  }
  return result;
}

describe('staging and production', () => {
  it('differ only where intended: namespace, host, replicas, resources, image, database, log level, production\'s canary and smoke hook', () => {
    const staging = comparable('staging');
    const production = comparable('production');

    expect([...production.keys()].sort()).toEqual([...staging.keys()].sort());
    for (const [key, object] of staging) expect(production.get(key), key).toEqual(object);
  });

  it('size production above staging', () => {
    // Production's pods belong to the canary Rollout (its Deployment is only the template).
    const replicas = (overlay: Overlay) => find(rendered[overlay], overlay === 'production' ? 'Rollout' : 'Deployment', 'shipshape').spec?.replicas as number;
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

  it('admits every object the overlays render: no kind they need is fenced out', () => {
    const project = find(argocd, 'AppProject', 'shipshape').spec as {
      clusterResourceWhitelist?: { group: string; kind: string }[];
      namespaceResourceBlacklist?: { group: string; kind: string }[];
      namespaceResourceWhitelist?: { group: string; kind: string }[];
    };
    const matches = (rules: { group: string; kind: string }[] | undefined, object: KubeObject) =>
      (rules ?? []).some((rule) => rule.group === (object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '') && (rule.kind === '*' || rule.kind === object.kind));
    const refused = OVERLAYS.flatMap((overlay) => rendered[overlay])
      .filter((object) => (object.metadata.namespace === undefined ? !matches(project.clusterResourceWhitelist, object) : matches(project.namespaceResourceBlacklist, object) || (project.namespaceResourceWhitelist !== undefined && !matches(project.namespaceResourceWhitelist, object))))
      .map((object) => `${object.kind}/${object.metadata.name}`);

    expect(refused).toEqual([]);
    // The kinds the project used to forbid are among them.
    expect(rendered.production.map((object) => object.kind)).toEqual(expect.arrayContaining(['ResourceQuota', 'LimitRange', 'Role', 'RoleBinding']));
  });

  it('gives the same SSO groups their Argo CD roles: developers sync staging, release managers production', () => {
    const roles = (find(argocd, 'AppProject', 'shipshape').spec as { roles: { name: string; policies: string[]; groups: string[] }[] }).roles;
    const syncs = Object.fromEntries(roles.map((role) => [role.groups.join(','), role.policies.filter((policy) => policy.includes(', sync,')).map((policy) => policy.split(', ')[4])]));

    expect(syncs).toEqual({ 'shipshape-developers': ['shipshape/shipshape-staging'], 'shipshape-release-managers': ['shipshape/shipshape-production'] });
    const kubernetesGroups = new Set(OVERLAYS.flatMap((overlay) => Object.keys(grants(rendered[overlay]))).map((subject) => subject.replace('Group:', '')));
    expect([...kubernetesGroups].sort()).toEqual(Object.keys(syncs).sort());
  });

  it('syncs staging automatically with prune and self-heal, and production only by hand', () => {
    const staging = find(argocd, 'Application', 'shipshape-staging').spec as { syncPolicy: { automated?: unknown } };
    const production = find(argocd, 'Application', 'shipshape-production').spec as { syncPolicy: { automated?: unknown } };

    expect(staging.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
    expect(production.syncPolicy.automated).toBeUndefined();
  });

  it.each(OVERLAYS)('pins the %s application to one commit and one digest of the overlay\'s image (scripts/ci/promote.sh writes both)', (overlay) => {
    const source = find(argocd, 'Application', `shipshape-${overlay}`).spec?.source as { targetRevision: unknown; kustomize?: { images?: string[] } };
    const kustomization = parse(readFileSync(join(ROOT, 'deploy/kubernetes/overlays', overlay, 'kustomization.yaml'), 'utf8')) as { images: { name: string; newName: string }[] };
    const registry = kustomization.images.find((image) => image.name === 'shipshape')?.newName ?? 'no shipshape image';

    // A branch or a tag would let the environment move without a promotion; a commit cannot.
    expect(source.targetRevision).toMatch(/^[0-9a-f]{40}$/);
    expect(source.kustomize?.images).toHaveLength(1);
    expect(source.kustomize?.images?.[0]).toMatch(/^shipshape=[^@\s]+@sha256:[0-9a-f]{64}$/);
    expect(source.kustomize?.images?.[0]?.split(/[=@]/)[1]).toBe(registry);
  });

  it('keeps the Applications, and so their pins, in step with main once applied by hand', () => {
    const applications = find(argocd, 'Application', 'shipshape-applications').spec as { source: { targetRevision: string; path: string; directory: { include: string } }; syncPolicy: { automated?: unknown } };
    const included = applications.source.directory.include.replace(/^\{|\}$/g, '').split(',');

    expect(applications.source).toMatchObject({ targetRevision: 'main', path: 'deploy/argocd' });
    expect(included.sort()).toEqual(['application-production.yaml', 'application-staging.yaml', 'project.yaml']);
    expect(applications.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
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
