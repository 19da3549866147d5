import type { Migration } from 'kysely/migration';
import * as conduitSchema from './0001_conduit_schema.ts';
import * as webAccounts from './0002_web_accounts.ts';
import * as credentialsVersion from './0003_credentials_version.ts';
import * as requestCounters from './0004_request_counters.ts';

/**
 * Every migration, in order. Listed here rather than read from a folder so the set is the
 * same whether the app runs from TypeScript sources or compiled output.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_conduit_schema': conduitSchema,
  '0002_web_accounts': webAccounts,
  '0003_credentials_version': credentialsVersion,
  '0004_request_counters': requestCounters,
};
