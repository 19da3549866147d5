/**
 * Points a Kustomize overlay at an image digest: sets `newName` and `digest` of the `images:`
 * entry with the given name (adding the entry when there is none) and drops any `newTag`, so
 * the overlay names exactly one immutable image. Edits through the yaml Document API, so the
 * comments and layout of the file survive and a promotion diff is the digest line alone.
 * Promotion pins Argo CD Applications now (pin-environment.ts); render-environment.ts applies
 * such a pin to an overlay through this function.
 */
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';

const DIGEST_REF = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/;

export interface ImageEdit {
  text: string;
  changed: boolean;
}

export class SetImageError extends Error {}

/** Returns the overlay text with the image pinned to `ref`; `changed` is false when it already was. */
export function setImage(text: string, imageName: string, ref: string): ImageEdit {
  const match = DIGEST_REF.exec(ref);
  if (!match?.[1] || !match[2]) throw new SetImageError(`not an image reference pinned by digest: ${ref}`);
  const [newName, digest] = [match[1], match[2]];

  const document = parseDocument(text);
  if (document.errors.length > 0) throw new SetImageError(`not valid YAML: ${document.errors[0]?.message ?? ''}`);
  if (!isMap(document.contents)) throw new SetImageError('not a Kustomization: the document is not a mapping');

  let images = document.get('images');
  if (images === undefined) {
    images = document.createNode([]);
    document.set('images', images);
  }
  if (!isSeq(images)) throw new SetImageError('images: is not a list');

  let entry = images.items.find((item): item is YAMLMap => isMap(item) && item.get('name') === imageName);
  if (entry === undefined) {
    entry = document.createNode({ name: imageName });
    images.add(entry);
  }
  if (entry.get('newName') === newName && entry.get('digest') === digest && !entry.has('newTag')) {
    return { text, changed: false };
  }
  entry.set('newName', newName);
  entry.set('digest', digest);
  entry.delete('newTag');
  // lineWidth 0: never fold long lines, so nothing but the image entry changes.
  return { text: document.toString({ lineWidth: 0 }), changed: true };
}
