import * as conduitSchema from './0001_conduit_schema.ts';
import * as webAccounts from './0002_web_accounts.ts';
import * as credentialsVersion from './0003_credentials_version.ts';
import * as requestCounters from './0004_request_counters.ts';
import * as articleListCounters from './0005_article_list_counters.ts';
import * as articleListIndexes from './0006_article_list_indexes.ts';
import * as deferredListCounters from './0007_deferred_list_counters.ts';
import type { AppMigration } from './helpers.ts';

/**
 * Every migration, in order. Listed here rather than read from a folder so the set is the
 * same whether the app runs from TypeScript sources or compiled output.
 */
export const migrations: Readonly<Record<string, AppMigration>> = {
  '0001_conduit_schema': conduitSchema,
  '0002_web_accounts': webAccounts,
  '0003_credentials_version': credentialsVersion,
  '0004_request_counters': requestCounters,
  '0005_article_list_counters': articleListCounters,
  '0006_article_list_indexes': articleListIndexes,
  '0007_deferred_list_counters': deferredListCounters,
};
