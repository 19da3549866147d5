import { execFileSync } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './process.ts';

/** A rendered Kubernetes object, loosely typed: the tests look into it by path. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  securityContext?: SecurityContext;
  envFrom?: unknown[];
}

export interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext & { fsGroup?: number };
  volumes?: Record<string, unknown>[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  imagePullSecrets?: { name: string }[];
}

export const OVERLAYS = ['staging', 'production'] as const;
export type Overlay = (typeof OVERLAYS)[number];

let kubectl: string | undefined;
function kubectlPath(): string {
  kubectl ??= execFileSync('bash', [join(ROOT, 'scripts/ensure-kubectl.sh')], { encoding: 'utf8' }).trim();
  return kubectl;
}

/** `kubectl kustomize <dir>` (kubectl 1.33, pinned; dir relative to the repository root), parsed into objects. */
export function kustomize(directory: string): KubeObject[] {
  const output = execFileSync(kubectlPath(), ['kustomize', isAbsolute(directory) ? directory : join(ROOT, directory)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(output).map((document) => document.toJS() as KubeObject);
}

export function renderOverlay(overlay: Overlay): KubeObject[] {
  return kustomize(`deploy/kubernetes/overlays/${overlay}`);
}

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Rollout']);

/**
 * Every Pod template in the objects, with where it came from. An Argo Rollout that takes its
 * template from another workload (workloadRef) runs that workload's template.
 */
export function podTemplates(objects: KubeObject[]): { owner: string; kind: string; pod: PodSpec }[] {
  return objects
    .filter((object) => WORKLOAD_KINDS.has(object.kind))
    .map((object) => {
      const spec = object.spec as { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } }; workloadRef?: { kind: string; name: string } };
      const referenced = spec.workloadRef && objects.find((candidate) => candidate.kind === spec.workloadRef?.kind && candidate.metadata.name === spec.workloadRef.name);
      const template = referenced ? (referenced.spec as { template?: { spec: PodSpec } }).template : spec.template;
      const pod = object.kind === 'CronJob' ? spec.jobTemplate?.spec.template.spec : template?.spec;
      if (!pod) throw new Error(`${object.kind}/${object.metadata.name} has no pod template`);
      return { owner: `${object.kind}/${object.metadata.name}`, kind: object.kind, pod };
    });
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found;
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;
const SUFFIX: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A Kubernetes quantity ("250m", "2", "512Mi") as a number of cores or bytes. */
export function quantity(value: string | number): number {
  const match = QUANTITY.exec(String(value));
  if (!match?.[1]) throw new Error(`not a quantity this test reads: ${String(value)}`);
  return Number(match[1]) * (SUFFIX[match[2] ?? ''] ?? Number.NaN);
}
