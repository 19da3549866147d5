import { onFirstUse } from '../../lib/on-first-use.ts';

/** file-type and its tokenizers, loaded by the first upload rather than at start-up. */
const fileType = onFirstUse(() => import('file-type'));

/** The image types we accept, by what the bytes are (magic numbers), never by file name. */
export const ACCEPTED_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;
export type AcceptedImageType = (typeof ACCEPTED_IMAGE_TYPES)[number];

/** What to tell someone whose file is not one of those. */
export const NOT_AN_ACCEPTED_IMAGE = 'must be a PNG, JPEG, WebP or GIF image';

export async function detectImageType(bytes: Uint8Array): Promise<AcceptedImageType | undefined> {
  const { fileTypeFromBuffer } = await fileType();
  const detected = await fileTypeFromBuffer(bytes);
  return ACCEPTED_IMAGE_TYPES.find((type) => type === detected?.mime);
}
