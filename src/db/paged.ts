import type { SelectQueryBuilder } from 'kysely';

export interface PageRequest {
  readonly limit: number;
  readonly offset: number;
}

/**
 * One page of a listing and the size of the whole listing, for the admin area's pagers: the
 * page's rows, mapped, and the count of every row the same query matches.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function pageWithTotal<Row, Item>(rows: Promise<Row[]>, count: SelectQueryBuilder<any, any, { n: number | string | bigint }>, map: (row: Row) => Item): Promise<{ items: Item[]; total: number }> {
  const [found, counted] = await Promise.all([rows, count.executeTakeFirstOrThrow()]);
  return { items: found.map(map), total: Number(counted.n) };
}
