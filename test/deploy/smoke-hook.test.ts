/**
 * Production's smoke test as Argo CD runs it (deploy/kubernetes/components/smoke-test): a PostSync
 * hook Job from the app's own image, read-only, expecting the commit that image was built from,
 * and NetworkPolicies that let its pod reach the app and DNS only. Staging has none: its pipeline
 * smoke-tests it. The Job's command is run for real here, against the real app on a loopback
 * port; the chart's copy is compared in test/infra/helm.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListeningTestApp, type TestApp } from '../helpers/app.ts';
import { type Container, find, type KubeObject, type PodSpec, podTemplates, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

let production: KubeObject[];
let staging: KubeObject[];

beforeAll(() => {
  production = renderOverlay('production');
  staging = renderOverlay('staging');
});

type Labels = Record<string, string>;
interface LabelSelector { matchLabels?: Labels; matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[] }
interface Peer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: { cidr: string } }
interface Rule { ports?: { port: number | string; protocol?: string }[]; to?: Peer[]; from?: Peer[] }
interface PolicySpec { podSelector: LabelSelector; policyTypes: string[]; ingress?: Rule[]; egress?: Rule[] }

/** Kubernetes' label selector semantics: every matchLabels entry and every expression hold. */
function selects(selector: LabelSelector, labels: Labels): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
    switch (operator) {
      case 'In': return key in labels && values.includes(labels[key] as string);
      case 'NotIn': return !(key in labels) || !values.includes(labels[key] as string);
      case 'Exists': return key in labels;
      case 'DoesNotExist': return !(key in labels);
    }
  });
  return byLabels && byExpressions;
}

function policies(objects: KubeObject[]): { name: string; spec: PolicySpec }[] {
  return objects.filter((object) => object.kind === 'NetworkPolicy').map((object) => ({ name: object.metadata.name, spec: object.spec as unknown as PolicySpec }));
}

/** A peer and port in a short form: "pods component=web:3000/TCP", "namespace kube-system pods k8s-app=kube-dns:53/UDP". */
function describeRule(rule: Rule, peers: Peer[]): string[] {
  const describePeer = (peer: Peer) => [
    peer.namespaceSelector ? `namespace ${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? JSON.stringify(peer.namespaceSelector)}` : '',
    peer.podSelector ? `pods ${Object.entries(peer.podSelector.matchLabels ?? {}).map(([key, value]) => `${key}=${value}`).sort().join(',')}` : '',
    peer.ipBlock ? `cidr ${peer.ipBlock.cidr}` : '',
  ].filter(Boolean).join(' ');
  return peers.flatMap((peer) => (rule.ports ?? [{ port: 'any' }]).map((port) => `${describePeer(peer)}:${String(port.port)}/${port.protocol ?? 'TCP'}`));
}

/** Where a pod with these labels may connect to: every egress rule of every policy selecting it. */
function egressOf(objects: KubeObject[], labels: Labels): string[] {
  return policies(objects)
    .filter(({ spec }) => spec.policyTypes.includes('Egress') && selects(spec.podSelector, labels))
    .flatMap(({ spec }) => (spec.egress ?? []).flatMap((rule) => describeRule(rule, rule.to ?? [])))
    .sort();
}

/** Who may connect to a pod with these labels: every ingress rule of every policy selecting it. */
function ingressOf(objects: KubeObject[], labels: Labels): { policy: string; rule: Rule }[] {
  return policies(objects)
    .filter(({ spec }) => spec.policyTypes.includes('Ingress') && selects(spec.podSelector, labels))
    .flatMap(({ name, spec }) => (spec.ingress ?? []).map((rule) => ({ policy: name, rule })));
}

function podOf(objects: KubeObject[], owner: string): { labels: Labels; spec: PodSpec } {
  const workload = objects.find((object) => `${object.kind}/${object.metadata.name}` === owner);
  if (!workload) throw new Error(`${owner} is not rendered`);
  const [template] = podTemplates([workload, ...objects]);
  // A Rollout's pods carry its own template labels or, with a workloadRef, the Deployment's.
  const source = (workload.spec as { workloadRef?: { name: string } }).workloadRef ? find(objects, 'Deployment', workload.metadata.name) : workload;
  const labels = (source.spec as { template: { metadata: { labels: Labels } } }).template.metadata.labels;
  return { labels, spec: template?.pod as PodSpec };
}

const smokeJob = () => find(production, 'Job', 'shipshape-smoke');
const smokePod = () => podOf(production, 'Job/shipshape-smoke');
const smokeContainer = () => smokePod().spec.containers[0] as Container & { args?: string[] };
const appPod = () => podOf(production, 'Rollout/shipshape');

describe('production\'s PostSync smoke test Job', () => {
  it('is an Argo CD PostSync hook, recreated on each sync and deleted once it passes', () => {
    expect(smokeJob().metadata.annotations).toEqual({
      'argocd.argoproj.io/hook': 'PostSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation,HookSucceeded',
    });
  });

  it('runs once, within a deadline, and a failed run is cleaned up after a day', () => {
    const spec = smokeJob().spec as { backoffLimit: number; activeDeadlineSeconds: number; ttlSecondsAfterFinished: number };

    // A retry would hide a flaky release: one try, the sync fails with it.
    expect(spec.backoffLimit).toBe(0);
    expect(spec.activeDeadlineSeconds).toBeGreaterThanOrEqual(60);
    expect(spec.activeDeadlineSeconds).toBeLessThanOrEqual(600);
    expect(spec.ttlSecondsAfterFinished).toBe(86_400);
    expect((smokeJob().spec?.template as { spec: { restartPolicy: string } }).spec.restartPolicy).toBe('Never');
  });

  it('runs the app\'s image, the one digest the Rollout runs, so a promotion pins both', () => {
    const app = appPod().spec.containers.find((container) => container.name === 'shipshape');

    expect(smokeContainer().image).toMatch(/^[^@\s]+@sha256:[0-9a-f]{64}$/);
    expect(smokeContainer().image).toBe(app?.image);
  });

  it('smoke-tests the traffic Service read-only, expecting the commit its own image was built from', () => {
    const service = find(production, 'Service', 'shipshape').spec as { ports: { name: string; port: number; targetPort: string }[] };
    const http = service.ports.find((port) => port.name === 'http');
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

    expect(smokeContainer().command).toEqual(['sh', '-c']);
    expect(smokeContainer().args).toEqual([`exec node dist/cli.js smoke http://shipshape:${String(http?.port)} --read-only --expect-sha "$GIT_SHA"`]);
    expect(http?.targetPort).toBe('http');
    // The image carries its commit as GIT_SHA, from the build argument the pipeline sets.
    expect(dockerfile).toMatch(/^ARG GIT_SHA=/m);
    expect(dockerfile).toMatch(/^ENV GIT_SHA=\$\{GIT_SHA\}/m);
  });

  it('runs as the migration Job does: its service account, no token, the restricted security contexts', () => {
    const migrate = podOf(production, 'Job/shipshape-migrate').spec;
    const smoke = smokePod().spec;

    expect(smoke.serviceAccountName).toBe(migrate.serviceAccountName);
    expect(smoke.automountServiceAccountToken).toBe(false);
    expect(smoke.securityContext).toEqual(migrate.securityContext);
    expect(smokeContainer().securityContext).toEqual(migrate.containers[0]?.securityContext);
    expect(smokeContainer().securityContext?.readOnlyRootFilesystem).toBe(true);
  });
});

describe('the Job\'s command, run against the real app', () => {
  const sha = '0123456789abcdef0123456789abcdef01234567';
  let app: TestApp & { baseUrl: string };
  let imageRoot: string;

  beforeAll(async () => {
    app = await createListeningTestApp({ env: { GIT_SHA: sha } });
    // Production has articles: one published, so the read-only journey reads one back too.
    const user = { username: 'hookauthor', email: 'hookauthor@example.com', password: 'Hook-author-password-1' };
    const registered = await app.app.inject({ method: 'POST', url: '/api/users', payload: { user } });
    const token = registered.json<{ user: { token: string } }>().user.token;
    const published = await app.app.inject({ method: 'POST', url: '/api/articles', headers: { authorization: `Token ${token}` }, payload: { article: { title: 'Already there', description: 'd', body: 'b', tagList: ['hook'] } } });
    expect(published.statusCode).toBe(201);
    // The image's layout: WORKDIR /app with dist/cli.js, and a node on the PATH. dist/cli.js is
    // built from src/cli.ts, which this Node (24) runs as is.
    imageRoot = mkdtempSync(join(tmpdir(), 'shipshape-smoke-hook-'));
    mkdirSync(join(imageRoot, 'dist'));
    mkdirSync(join(imageRoot, 'bin'));
    writeFileSync(join(imageRoot, 'dist/cli.js'), `import ${JSON.stringify(pathToFileURL(join(ROOT, 'src/cli.ts')).href)};\n`);
    symlinkSync(process.execPath, join(imageRoot, 'bin/node'));
  });
  afterAll(async () => {
    await app.close();
    rmSync(imageRoot, { recursive: true, force: true });
  });

  /** The container's command and args, in the image's directory, with the image's GIT_SHA; the Service's address swapped for the app's. */
  function runHook(imageSha: string): Promise<{ code: number | null; output: string }> {
    const [shell, ...shellArgs] = [...(smokeContainer().command ?? []), ...(smokeContainer().args ?? [])].map((part) => part.replace('http://shipshape:80', app.baseUrl));
    const child = spawn(shell as string, shellArgs, { cwd: imageRoot, env: { PATH: `${join(imageRoot, 'bin')}:/usr/bin:/bin`, GIT_SHA: imageSha } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
  }

  async function rowCounts(): Promise<number[]> {
    return Promise.all(['users', 'articles', 'comments', 'tags'].map(async (table) => {
      const row = await app.app.db.selectFrom(table as 'users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    }));
  }

  it('passes when the app serves the image\'s commit, and writes nothing', async () => {
    const before = await rowCounts();

    const result = await runHook(sha);

    expect(result.output).toContain(`version: `);
    expect(result.output).toContain(`at ${sha}`);
    expect(result.output).toContain('read the newest article');
    expect(result.output).toContain('rendered the home page');
    expect(result.output).toContain(`smoke test passed: 7 checks against ${app.baseUrl}`);
    expect(result.code).toBe(0);
    expect(await rowCounts()).toEqual(before);
  });

  it('fails the hook when the app serves another commit (the sync is not what the Service answers)', async () => {
    const result = await runHook('fedcba9876543210fedcba9876543210fedcba98');

    expect(result.code).toBe(1);
    expect(result.output).toContain(`smoke test FAILED against ${app.baseUrl}: GET /version: expected gitSha fedcba9876543210fedcba9876543210fedcba98, got ${sha}`);
  });
});

describe('production\'s NetworkPolicies and the smoke test pod', () => {
  it('let the smoke pod reach the app\'s pods on the app port, and DNS, and nothing else', () => {
    const appPort = appPod().spec.containers[0]?.ports?.find((port) => port.name === 'http')?.containerPort;

    expect(appPort).toBe(3000);
    expect(egressOf(production, smokePod().labels)).toEqual([
      'namespace kube-system pods k8s-app=kube-dns:53/TCP',
      'namespace kube-system pods k8s-app=kube-dns:53/UDP',
      `pods app.kubernetes.io/component=web,app.kubernetes.io/name=shipshape:${String(appPort)}/TCP`,
    ]);
  });

  it('select the app\'s pods, not the migration Job\'s or the smoke pod itself, as where it may go', () => {
    const destination = policies(production).find(({ name }) => name === 'shipshape-smoke-egress')?.spec.egress?.[0]?.to?.[0]?.podSelector as LabelSelector;

    expect(selects(destination, appPod().labels)).toBe(true);
    expect(selects(destination, podOf(production, 'Job/shipshape-migrate').labels)).toBe(false);
    expect(selects(destination, smokePod().labels)).toBe(false);
  });

  it('keep the app\'s database for the app and its migration Job only', () => {
    const database = 'cidr 10.20.0.0/24:5432/TCP';

    expect(egressOf(production, smokePod().labels)).not.toContain(database);
    expect(egressOf(production, appPod().labels)).toContain(database);
    expect(egressOf(production, podOf(production, 'Job/shipshape-migrate').labels)).toContain(database);
  });

  it('let the app admit the smoke pod on its http port, from its own namespace only', () => {
    const fromSmoke = ingressOf(production, appPod().labels).filter(({ rule }) => (rule.from ?? []).some((peer) => peer.podSelector && !peer.namespaceSelector && selects(peer.podSelector, smokePod().labels)));

    expect(fromSmoke.map(({ policy, rule }) => [policy, rule.ports])).toEqual([['shipshape-allow-smoke', [{ port: 'http', protocol: 'TCP' }]]]);
  });

  it('admit nothing into the smoke pod', () => {
    expect(ingressOf(production, smokePod().labels)).toEqual([]);
  });
});

describe('staging', () => {
  it('has no smoke hook and no smoke policies: its pipeline smoke-tests it', () => {
    const smokeObjects = staging.filter((object) => object.metadata.name.includes('smoke') || JSON.stringify(object.metadata.annotations ?? {}).includes('PostSync'));

    expect(smokeObjects).toEqual([]);
  });
});
