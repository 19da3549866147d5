import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/app.ts';

/**
 * PostgreSQL's data version (DatabaseHandle.dataVersion, the cluster's snapshot) moves when a
 * write commits on any connection, which is what keeps the read caches fresh across replicas:
 * an answer cached while the write was still in progress is never served after its commit.
 * (Whether it stays put without writes cannot be shown here: the snapshot is the cluster's,
 * and the other test files write to their own databases in it at the same time.)
 */
const testApp = useTestApp();
let otherReplica: pg.Client;

beforeAll(async () => {
  otherReplica = new pg.Client({ connectionString: testApp.storage.databaseUrl });
  await otherReplica.connect();
});
afterAll(() => otherReplica.end());

describe('the PostgreSQL data version', () => {
  it('moves when another connection commits a write, past the value read while that write was in progress', async () => {
    const { database } = testApp.app;
    const before = await database.dataVersion();

    await otherReplica.query('begin');
    await otherReplica.query("insert into tags (name) values ('written elsewhere')");
    const duringOtherTransaction = await database.dataVersion();
    await otherReplica.query('commit');

    const afterCommit = await database.dataVersion();
    expect(afterCommit).not.toBe(duringOtherTransaction);
    expect(afterCommit).not.toBe(before);
  });
});
