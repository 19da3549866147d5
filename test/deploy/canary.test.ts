/**
 * Production's canary (deploy/kubernetes/components/canary, Argo Rollouts) offline: the Rollout
 * takes the Deployment's pod template, steps 10% → 50% → 100% with pauses, routes the canary's
 * share through ingress-nginx and is judged by the AnalysisTemplate; staging stays a rolling
 * Deployment. The Rollout and the AnalysisTemplate pass the Argo Rollouts CRD schemas and types
 * (as every object in kubernetes.test.ts), which are shown to catch a misspelling and a wrong
 * type. And the analysis itself runs: the AnalysisTemplate's own
 * queries, with the Rollout's arguments substituted, and its own successConditions, are
 * evaluated by promtool over recorded series of a good release (passes) and of bad ones (a 5xx
 * spike, a slow p99: fail). What only a live cluster shows (the controller's traffic shifting,
 * an abort rolling back) is in deploy/README.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { schemaErrors, unknownFieldErrors } from '../helpers/kube-schemas.ts';
import { find, type KubeObject, kustomize, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

interface CanaryStep {
  setWeight?: number;
  pause?: { duration?: string };
}

interface RolloutSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  workloadRef: { apiVersion: string; kind: string; name: string; scaleDown: string };
  strategy: {
    canary: {
      stableService: string;
      canaryService: string;
      trafficRouting: { nginx: { stableIngress: string } };
      analysis: { templates: { templateName: string }[]; startingStep: number; args: { name: string; valueFrom?: { podTemplateHashValue?: string; fieldRef?: { fieldPath: string } } }[] };
      steps: CanaryStep[];
    };
  };
}

interface AnalysisMetric {
  name: string;
  interval: string;
  failureLimit: number;
  successCondition: string;
  provider: { prometheus: { address: string; query: string } };
}

interface AnalysisTemplateSpec {
  args: { name: string }[];
  metrics: AnalysisMetric[];
}

const NAMESPACE = 'shipshape-production';
const STABLE_HASH = '6d4f8b7c9';
const CANARY_HASH = '7f9c5d8b4';
/** The app's request duration buckets (src/plugins/app/metrics.ts). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

let production: KubeObject[];
let staging: KubeObject[];

beforeAll(() => {
  production = renderOverlay('production');
  staging = renderOverlay('staging');
});

const rollout = () => find(production, 'Rollout', 'shipshape').spec as unknown as RolloutSpec;
const template = () => find(production, 'AnalysisTemplate', 'shipshape-slo').spec as unknown as AnalysisTemplateSpec;

describe('the production Rollout', () => {
  it('takes its pods from the Deployment, which it scales down as its own come up', () => {
    const deployment = find(production, 'Deployment', 'shipshape');

    expect(rollout().workloadRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shipshape', scaleDown: 'progressively' });
    expect(deployment.spec?.replicas).toBe(0);
    expect(rollout().replicas).toBe(3);
    expect(rollout().selector).toEqual(deployment.spec?.selector);
  });

  it('is what the HorizontalPodAutoscaler scales, and the PodDisruptionBudget covers its pods', () => {
    const hpa = find(production, 'HorizontalPodAutoscaler', 'shipshape').spec as { scaleTargetRef: unknown; minReplicas: number };
    const pdb = find(production, 'PodDisruptionBudget', 'shipshape').spec as { selector: { matchLabels: Record<string, string> } };

    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'shipshape' });
    expect(hpa.minReplicas).toBe(rollout().replicas);
    expect(pdb.selector.matchLabels).toEqual(rollout().selector.matchLabels);
  });

  it('steps 10% → 50% → 100%, pausing after each', () => {
    const steps = rollout().strategy.canary.steps;

    expect(steps.filter((step) => step.setWeight !== undefined).map((step) => step.setWeight)).toEqual([10, 50, 100]);
    steps.forEach((step, index) => {
      if (index % 2 === 0) expect(step.setWeight, `step ${index}`).toBeDefined();
      else expect(step.pause?.duration, `step ${index}`).toMatch(/^\d+m$/);
    });
  });

  it('routes the canary\'s share through ingress-nginx: the Ingress, the stable and the canary Service it names exist', () => {
    const canary = rollout().strategy.canary;
    const ingress = find(production, 'Ingress', canary.trafficRouting.nginx.stableIngress).spec as { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] };
    const stable = find(production, 'Service', canary.stableService).spec as { selector: unknown; ports: unknown };
    const canaryService = find(production, 'Service', canary.canaryService).spec as { selector: unknown; ports: unknown };

    expect(ingress.rules.flatMap((rule) => rule.http.paths.map((path) => path.backend.service.name))).toEqual([canary.stableService]);
    expect(canaryService.selector).toEqual(stable.selector);
    expect(canaryService.ports).toEqual(stable.ports);
  });

  it('is judged from its first step by the AnalysisTemplate, given every argument it declares', () => {
    const analysis = rollout().strategy.canary.analysis;
    const args = Object.fromEntries(analysis.args.map((arg) => [arg.name, arg.valueFrom]));

    expect(analysis.templates).toEqual([{ templateName: 'shipshape-slo' }]);
    expect(analysis.startingStep).toBe(1);
    expect(Object.keys(args).sort()).toEqual(template().args.map((arg) => arg.name).sort());
    expect(args['canary-hash']).toEqual({ podTemplateHashValue: 'Latest' });
    expect(args.namespace).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
  });

  it('is scraped once per pod, labelled by ReplicaSet, through a Service the Rollouts controller leaves alone', () => {
    const monitor = find(production, 'ServiceMonitor', 'shipshape').spec as { selector: { matchLabels: Record<string, string> }; podTargetLabels: string[]; endpoints: { port: string }[] };
    const scraped = production.filter((object) => object.kind === 'Service' && Object.entries(monitor.selector.matchLabels).every(([label, value]) => object.metadata.labels?.[label] === value));
    const canary = rollout().strategy.canary;

    expect(scraped.map((service) => service.metadata.name)).toEqual(['shipshape-metrics']);
    expect([canary.stableService, canary.canaryService]).not.toContain('shipshape-metrics');
    expect((scraped[0]?.spec as { selector: unknown }).selector).toEqual(rollout().selector.matchLabels);
    expect(monitor.endpoints.map((endpoint) => endpoint.port)).toEqual(['metrics']);
    // Prometheus turns the pod label's dashes into underscores; the queries select on that.
    expect(monitor.podTargetLabels).toContain('rollouts-pod-template-hash');
    for (const metric of template().metrics) expect(metric.provider.prometheus.query).toContain('rollouts_pod_template_hash="{{args.canary-hash}}"');
  });

  it('asks the Prometheus the platform installs (kube-prometheus-stack in monitoring)', () => {
    const platform = kustomize('deploy/platform/envs/production');
    const stack = find(platform, 'Application', 'kube-prometheus-stack').spec as { destination: { namespace: string } };
    const values = parse(readFileSync(join(ROOT, 'deploy/platform/values/kube-prometheus-stack.yaml'), 'utf8')) as { fullnameOverride: string };

    for (const metric of template().metrics) {
      expect(metric.provider.prometheus.address).toBe(`http://${values.fullnameOverride}-prometheus.${stack.destination.namespace}.svc:9090`);
    }
  });
});

describe('the Argo Rollouts schemas (@kubernetes-models/argo-rollouts) the overlay is checked against', () => {
  it('pass the Rollout and the AnalysisTemplate as rendered', async () => {
    const objects = [find(production, 'Rollout', 'shipshape'), find(production, 'AnalysisTemplate', 'shipshape-slo')];

    for (const object of objects) expect(await schemaErrors(object), object.kind).toBeUndefined();
    expect(unknownFieldErrors(objects)).toEqual([]);
  });

  it('would catch a misspelt field and a wrong type in either', async () => {
    const rollout = structuredClone(find(production, 'Rollout', 'shipshape'));
    const canary = (rollout.spec?.strategy as { canary: Record<string, unknown> }).canary;
    canary.trafficRoutng = canary.trafficRouting;
    const analysis = structuredClone(find(production, 'AnalysisTemplate', 'shipshape-slo'));
    const [metric] = analysis.spec?.metrics as Record<string, unknown>[];
    if (metric) metric.successCondtion = metric.successCondition;
    const wrongType = structuredClone(find(production, 'Rollout', 'shipshape'));
    (wrongType.spec as { replicas: unknown }).replicas = 'three';

    expect(unknownFieldErrors([rollout, analysis]).join('\n')).toMatch(/trafficRoutng[\s\S]*successCondtion/);
    expect(await schemaErrors(wrongType)).toMatch(/replicas/);
  });
});

describe('staging', () => {
  it('stays a rolling Deployment: no Rollout, the HorizontalPodAutoscaler scales the Deployment', () => {
    expect(staging.filter((object) => object.apiVersion.startsWith('argoproj.io/'))).toEqual([]);
    expect(find(staging, 'Deployment', 'shipshape').spec?.replicas).toBe(2);
    expect((find(staging, 'HorizontalPodAutoscaler', 'shipshape').spec as { scaleTargetRef: unknown }).scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shipshape' });
  });
});

describe('Argo CD', () => {
  const argocd = () => kustomize('deploy/argocd');

  it('lets the shipshape project manage Rollouts, AnalysisTemplates and AnalysisRuns', () => {
    const project = find(argocd(), 'AppProject', 'shipshape').spec as { namespaceResourceWhitelist?: { group: string; kind: string }[]; namespaceResourceBlacklist?: { group: string; kind: string }[] };
    const matches = (rules: { group: string; kind: string }[] | undefined, kind: string) => (rules ?? []).some((rule) => ['*', 'argoproj.io'].includes(rule.group) && ['*', kind].includes(rule.kind));

    for (const kind of ['Rollout', 'AnalysisTemplate', 'AnalysisRun']) {
      if (project.namespaceResourceWhitelist) expect(matches(project.namespaceResourceWhitelist, kind), kind).toBe(true);
      expect(matches(project.namespaceResourceBlacklist, kind), kind).toBe(false);
    }
  });

  it('leaves the Rollout\'s size to the HorizontalPodAutoscaler in production', () => {
    const spec = find(argocd(), 'Application', 'shipshape-production').spec as { ignoreDifferences: { group: string; kind: string; jsonPointers: string[] }[]; syncPolicy: { syncOptions: string[] } };

    expect(spec.ignoreDifferences).toContainEqual({ group: 'argoproj.io', kind: 'Rollout', jsonPointers: ['/spec/replicas'] });
    expect(spec.syncPolicy.syncOptions).toContain('RespectIgnoreDifferences=true');
  });
});

/** One kind of request a pod served every minute: the duration each took, in seconds. */
interface Traffic {
  hash: string;
  route: string;
  status: number;
  perMinute: number;
  seconds: number;
}

/** The counter and bucket series the app exports for that traffic, as promtool input series. */
function seriesOf(traffic: Traffic): { series: string; values: string }[] {
  const labels = `job="shipshape", namespace="${NAMESPACE}", rollouts_pod_template_hash="${traffic.hash}", method="GET", route="${traffic.route}", status_code="${traffic.status}"`;
  const growing = (perMinute: number) => `0+${perMinute}x20`;
  return [
    { series: `http_request_duration_seconds_count{${labels}}`, values: growing(traffic.perMinute) },
    ...[...HTTP_BUCKETS.map(String), '+Inf'].map((le) => ({
      series: `http_request_duration_seconds_bucket{${labels}, le="${le}"}`,
      values: growing(le === '+Inf' || traffic.seconds <= Number(le) ? traffic.perMinute : 0),
    })),
  ];
}

const api = (hash: string, status: number, perMinute: number, seconds = 0.04): Traffic => ({ hash, route: '/api/articles', status, perMinute, seconds });
const probe = (hash: string, route: string, status: number, perMinute: number): Traffic => ({ hash, route, status, perMinute, seconds: 0.002 });
const healthyStable = [api(STABLE_HASH, 200, 1200)];

/** What each metric of the AnalysisTemplate should conclude: passed, failed, or no result (an error). */
type Verdict = 'pass' | 'fail' | 'none';

const releases: { name: string; traffic: Traffic[]; expected: Record<string, Verdict> }[] = [
  { name: 'a good release', traffic: [...healthyStable, api(CANARY_HASH, 200, 600)], expected: { 'error-ratio': 'pass', 'latency-p99': 'pass' } },
  {
    name: 'a release whose 5xx spike to 5%',
    traffic: [...healthyStable, api(CANARY_HASH, 200, 570), api(CANARY_HASH, 500, 30)],
    expected: { 'error-ratio': 'fail', 'latency-p99': 'pass' },
  },
  {
    name: 'a release whose p99 is 2 s',
    traffic: [...healthyStable, api(CANARY_HASH, 200, 540), api(CANARY_HASH, 200, 60, 2)],
    expected: { 'error-ratio': 'pass', 'latency-p99': 'fail' },
  },
  {
    name: 'a good release next to a failing stable version (only the canary\'s pods count)',
    traffic: [api(STABLE_HASH, 200, 600, 3), api(STABLE_HASH, 503, 600), api(CANARY_HASH, 200, 600)],
    expected: { 'error-ratio': 'pass', 'latency-p99': 'pass' },
  },
  {
    name: 'a good release whose draining pods fail readiness probes (probes are not requests)',
    traffic: [...healthyStable, api(CANARY_HASH, 200, 600), probe(CANARY_HASH, '/readyz', 503, 600)],
    expected: { 'error-ratio': 'pass', 'latency-p99': 'pass' },
  },
  {
    name: 'a release that gets no requests yet, only probes',
    traffic: [...healthyStable, probe(CANARY_HASH, '/healthz', 200, 60)],
    expected: { 'error-ratio': 'none', 'latency-p99': 'none' },
  },
];

/** The query as the Rollouts controller sends it: every {{args.x}} replaced by the Rollout's value. */
function resolvedQuery(metric: AnalysisMetric, args: Record<string, string>): string {
  const query = metric.provider.prometheus.query.replace(/\{\{\s*args\.([\w-]+)\s*\}\}/g, (_match, name: string) => {
    const value = args[name];
    if (value === undefined) throw new Error(`${metric.name}: no value for args.${name}`);
    return value;
  });
  expect(query, metric.name).not.toContain('{{');
  return query.trim();
}

/**
 * The successCondition as PromQL: `result[0] <= 0.01` becomes `(query) <= bool 0.01`, 1 when the
 * condition holds. Only this one shape is accepted, so a condition the translation cannot
 * reproduce exactly fails here instead of being checked loosely. PromQL and the controller's
 * expression language agree on NaN (every comparison false), and an empty result is no sample.
 */
function conditionAsPromql(metric: AnalysisMetric, query: string): string {
  const match = /^result\[0\] (<=|<|>=|>) (\d+(?:\.\d+)?)$/.exec(metric.successCondition.trim());
  if (!match) throw new Error(`${metric.name}: successCondition "${metric.successCondition}" is not of the form result[0] <op> <number>`);
  return `(${query}) ${match[1]} bool ${match[2]}`;
}

function promtoolTests(verdicts: (release: (typeof releases)[number], metric: string) => Verdict): string {
  const args = { namespace: NAMESPACE, 'canary-hash': CANARY_HASH };
  const metrics = template().metrics;
  return stringify({
    evaluation_interval: '1m',
    tests: releases.map((release) => ({
      name: release.name,
      interval: '1m',
      input_series: release.traffic.flatMap(seriesOf),
      promql_expr_test: metrics.map((metric) => {
        const verdict = verdicts(release, metric.name);
        return {
          expr: conditionAsPromql(metric, resolvedQuery(metric, args)),
          eval_time: '15m',
          exp_samples: verdict === 'none' ? [] : [{ labels: '{}', value: verdict === 'pass' ? 1 : 0 }],
        };
      }),
    })),
  });
}

describe('the AnalysisTemplate\'s queries and conditions (promtool test rules)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'shipshape-canary-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  function promtool(tests: string): { code: number; output: string } {
    const file = join(directory, `analysis-${Date.now()}.test.yml`);
    writeFileSync(file, tests);
    const result = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
    return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
  }

  it('measure both SLO signals, every minute, aborting on the second failure', () => {
    expect(template().metrics.map((metric) => metric.name).sort()).toEqual(['error-ratio', 'latency-p99']);
    for (const metric of template().metrics) expect({ interval: metric.interval, failureLimit: metric.failureLimit }).toEqual({ interval: '1m', failureLimit: 1 });
  });

  it('pass a good release and fail a 5xx spike and a slow p99, judging only the canary\'s requests', () => {
    const result = promtool(promtoolTests((release, metric) => release.expected[metric] ?? 'none'));

    expect(result.output).toContain('SUCCESS');
    expect(result.code, result.output).toBe(0);
  });

  it('would notice a wrong verdict: promtool fails if the bad release were expected to pass', () => {
    const result = promtool(promtoolTests((release, metric) => (release.name.includes('5xx') && metric === 'error-ratio' ? 'pass' : (release.expected[metric] ?? 'none'))));

    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
  });

  it('are valid PromQL as written (promtool check rules)', () => {
    const rules = template().metrics.map((metric) => ({ record: `canary:${metric.name.replace(/-/g, '_')}`, expr: resolvedQuery(metric, { namespace: NAMESPACE, 'canary-hash': CANARY_HASH }) }));
    const file = join(directory, 'analysis.rules.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'canary-analysis', rules }] }));

    expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain('SUCCESS: 2 rules found');
  });
});
