/**
 * Schema checks of Kubernetes objects, offline: the Kubernetes API and CRD JSON schemas that
 * kubernetes-models and its CRD packages ship (pinned; Argo CD and Argo Rollouts share argoproj.io), and their TypeScript types, which
 * also reject unknown (misspelt) fields. Used by test/deploy and test/infra.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import type { KubeObject } from './manifests.ts';
import { ROOT } from './process.ts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** The module that holds the schema of an apiVersion/kind, core and CRDs alike. */
function modelModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const crdPackages: Record<string, string> = {
    'argoproj.io': '@kubernetes-models/argo-cd',
    'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
    'external-secrets.io': '@kubernetes-models/external-secrets',
    'cert-manager.io': '@kubernetes-models/cert-manager',
  };
  // argoproj.io holds two projects' kinds: Argo CD's and Argo Rollouts'.
  const rolloutsKinds = new Set(['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun', 'Experiment']);
  const crdPackage = group === 'argoproj.io' && rolloutsKinds.has(kind) ? '@kubernetes-models/argo-rollouts' : crdPackages[group ?? ''];
  if (crdPackage) return `${crdPackage}/${group}/${version}/${kind}`;
  return group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
}

export async function schemaErrors(object: KubeObject): Promise<string | undefined> {
  let module: Record<string, ModelClass>;
  try {
    module = (await import(modelModule(object.apiVersion, object.kind))) as Record<string, ModelClass>;
  } catch {
    return `no schema for ${object.apiVersion} ${object.kind}`;
  }
  const Model = module[object.kind];
  if (!Model) return `no model ${object.kind} in ${modelModule(object.apiVersion, object.kind)}`;
  try {
    new Model(object).validate();
    return undefined;
  } catch (error) {
    return String(error);
  }
}

/**
 * The JSON schemas behind kubernetes-models accept unknown fields, so a misspelt key
 * (`readinesProbe`) would pass them. The same package's TypeScript interfaces do not: each
 * object is written out as a typed literal and compiled, and excess-property errors name the
 * stray field.
 */
export function unknownFieldErrors(objects: KubeObject[]): string[] {
  const directory = mkdtempSync(join(ROOT, 'node_modules', '.shipshape-manifest-types-'));
  try {
    const source = objects
      .map((object, index) => {
        const module = modelModule(object.apiVersion, object.kind);
        return `import type { I${object.kind} as T${index} } from '${module}';\nexport const o${index}: T${index} = ${JSON.stringify(object, null, 1)};`;
      })
      .join('\n');
    const file = join(directory, 'manifests.ts');
    writeFileSync(file, source);
    const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 });
    return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
      return `line ${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
    });
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

