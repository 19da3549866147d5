/**
 * Pins an environment's Argo CD Application to one commit and one image: sets
 * `spec.source.targetRevision` to the commit and the image's entry in
 * `spec.source.kustomize.images` (Argo CD's `kustomize edit set image` before it renders) to the
 * digest. The environment then renders its overlay, and the base under it, exactly as they were
 * at that commit, so promoting the pair staging ran moves the whole environment: manifests and
 * image together. Edits through the yaml Document API, so comments and layout survive and a
 * promotion diff is those two lines.
 *
 * Usage: node scripts/ci/pin-environment.ts <application.yaml> <commit sha> <image name> <name@sha256:digest>
 * Prints "updated" or "unchanged"; exits 1 on a malformed file, commit or reference, 64 on bad usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument, Scalar } from 'yaml';

const DIGEST_REF = /^[^@\s=]+@sha256:[0-9a-f]{64}$/;
/** A full commit id: a branch or a tag could move under a pinned environment, a commit cannot. */
const COMMIT = /^[0-9a-f]{40}$/;

export interface PinEdit {
  text: string;
  changed: boolean;
}

export interface EnvironmentPin {
  revision: string;
  /** Argo CD's kustomize image overrides, `name=newName@digest`. */
  images: string[];
}

export class PinError extends Error {}

/** The revision as written; an unquoted id of digits reads as a number, which no pin equals. */
function readRevision(node: unknown): string {
  return isScalar(node) ? String(node.value) : '';
}

/** The pin an Application carries now. */
export function readPin(text: string): EnvironmentPin {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new PinError(`not valid YAML: ${document.errors[0]?.message ?? ''}`);
  const source = document.getIn(['spec', 'source']);
  if (!isMap(source) || document.get('kind') !== 'Application') throw new PinError('not an Argo CD Application with spec.source');
  const images = document.getIn(['spec', 'source', 'kustomize', 'images']);
  return {
    revision: readRevision(source.get('targetRevision', true)),
    images: isSeq(images) ? images.items.map((item) => String(isScalar(item) ? item.value : item)) : [],
  };
}

/** Returns the Application text pinned to `revision` and `ref`; `changed` is false when it already was. */
export function pinEnvironment(text: string, revision: string, imageName: string, ref: string): PinEdit {
  if (!COMMIT.test(revision)) throw new PinError(`not a full commit id (40 hex digits): ${revision}`);
  if (!DIGEST_REF.test(ref)) throw new PinError(`not an image reference pinned by digest: ${ref}`);
  const override = `${imageName}=${ref}`;

  const current = readPin(text);
  const others = current.images.filter((image) => !image.startsWith(`${imageName}=`));
  if (current.revision === revision && current.images.includes(override) && current.images.length === others.length + 1) {
    return { text, changed: false };
  }
  const document = parseDocument(text);
  // Quoted: YAML would read an all-digit id (or one like 1234e5...) as a number.
  const quoted = new Scalar(revision);
  quoted.type = Scalar.QUOTE_DOUBLE;
  document.setIn(['spec', 'source', 'targetRevision'], quoted);
  const images = document.getIn(['spec', 'source', 'kustomize', 'images']);
  if (isSeq(images)) {
    const index = images.items.findIndex((item) => isScalar(item) && String(item.value).startsWith(`${imageName}=`));
    if (index === -1) images.add(override);
    else images.set(index, override);
  } else {
    document.setIn(['spec', 'source', 'kustomize', 'images'], document.createNode([override]));
  }
  // lineWidth 0: never fold long lines, so nothing but the pin changes.
  return { text: document.toString({ lineWidth: 0 }), changed: true };
}

function main(): void {
  const [file, revision, imageName, ref] = process.argv.slice(2);
  if (file === undefined || revision === undefined || imageName === undefined || ref === undefined) {
    console.error('usage: node scripts/ci/pin-environment.ts <application.yaml> <commit sha> <image name> <name@sha256:digest>');
    process.exit(64);
  }
  try {
    const edit = pinEnvironment(readFileSync(file, 'utf8'), revision, imageName, ref);
    if (edit.changed) writeFileSync(file, edit.text);
    console.log(edit.changed ? 'updated' : 'unchanged');
  } catch (error) {
    console.error(`pin-environment: ${file}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

if (import.meta.main) main();
