import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { now } from '../../db/errors.ts';
import { type Param, PreparedQuery } from '../../db/prepared.ts';
import type { Database } from '../../db/schema.ts';
import { unprocessable } from '../../errors.ts';
import { detectImageType, NOT_AN_ACCEPTED_IMAGE } from './detect.ts';

export interface StoredImage {
  readonly contentType: string;
  readonly data: Buffer;
}

/**
 * Uploaded images, kept in the database so every replica can serve them, named by the sha256
 * of their bytes: the same picture uploaded twice is stored once, and a name never changes
 * meaning (so it can be cached forever).
 */
export class ImagesRepository {
  readonly #db: Kysely<Database>;
  readonly #byHash: PreparedQuery<{ hash: string }, { content_type: string; data: Buffer }>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
    this.#byHash = new PreparedQuery(db, (param: Param<{ hash: string }>) =>
      db.selectFrom('images').select(['content_type', 'data']).where('hash', '=', param('hash')),
    );
  }

  /**
   * Stores an image after checking what it is; returns its path (`/images/<hash>`). Refuses
   * anything that is not a PNG, JPEG, WebP or GIF with a 422 naming `field`.
   */
  async store(bytes: Buffer, uploaderId: number, field = 'image'): Promise<string> {
    const contentType = await detectImageType(bytes);
    if (contentType === undefined) {
      throw unprocessable({ [field]: [NOT_AN_ACCEPTED_IMAGE] });
    }
    const hash = createHash('sha256').update(bytes).digest('hex');
    await this.#db
      .insertInto('images')
      .values({ hash, content_type: contentType, size: bytes.length, uploaded_by: uploaderId, created_at: now(), data: bytes })
      .onConflict((conflict) => conflict.column('hash').doNothing())
      .execute();
    return imagePath(hash);
  }

  async find(hash: string): Promise<StoredImage | undefined> {
    const row = await this.#byHash.first({ hash });
    if (row === undefined) return undefined;
    return { contentType: row.content_type, data: Buffer.from(row.data) };
  }
}

export function imagePath(hash: string): string {
  return `/images/${hash}`;
}
