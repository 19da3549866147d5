/**
 * Terraform configurations parsed offline (HCL to JSON with @cdktf/hcl2json, the parser CDKTF
 * ships), and the policies the tests hold them to. Each policy returns its violations as
 * readable strings, so a test can show it passes on infra/ and fails on a bad fixture.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/process.ts';

// Loaded without its type declarations: they pull in the DOM library (/// <reference lib="dom" />),
// whose fetch and element types would then clash with Node's across the whole project.
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse: (filename: string, contents: string) => Promise<unknown> };

/** One HCL file (.tf or .tfvars) as JSON; a syntax error rejects with the file's name. */
export function parseHcl(filename: string, contents: string): Promise<unknown> {
  return parse(filename, contents);
}

export type Body = Record<string, unknown>;

/** One directory of .tf files (a root module or a child module), its blocks merged. */
export interface Module {
  directory: string;
  text: string;
  resources: Record<string, Record<string, Body>>;
  data: Record<string, Record<string, Body>>;
  modules: Record<string, Body>;
  variables: Record<string, Body>;
  outputs: Record<string, Body>;
  locals: Body;
  terraform: Body[];
  providers: Record<string, Body[]>;
}

interface Parsed {
  resource?: Record<string, Record<string, Body[]>>;
  data?: Record<string, Record<string, Body[]>>;
  module?: Record<string, Body[]>;
  variable?: Record<string, Body[]>;
  output?: Record<string, Body[]>;
  locals?: Body[];
  terraform?: Body[];
  provider?: Record<string, Body[]>;
}

function single<T>(blocks: Record<string, T[]> | undefined): Record<string, T> {
  return Object.fromEntries(Object.entries(blocks ?? {}).map(([name, [body]]) => [name, body as T]));
}

/** Parses every .tf file of a directory; a syntax error rejects with the file's name. */
export async function loadModule(directory: string): Promise<Module> {
  const files = readdirSync(directory).filter((name) => name.endsWith('.tf')).sort();
  const module: Module = { directory, text: '', resources: {}, data: {}, modules: {}, variables: {}, outputs: {}, locals: {}, terraform: [], providers: {} };
  for (const file of files) {
    const text = readFileSync(join(directory, file), 'utf8');
    const parsed = (await parseHcl(file, text)) as Parsed;
    module.text += `${text}\n`;
    for (const [type, named] of Object.entries(parsed.resource ?? {})) module.resources[type] = { ...module.resources[type], ...single(named) };
    for (const [type, named] of Object.entries(parsed.data ?? {})) module.data[type] = { ...module.data[type], ...single(named) };
    Object.assign(module.modules, single(parsed.module));
    Object.assign(module.variables, single(parsed.variable));
    Object.assign(module.outputs, single(parsed.output));
    for (const locals of parsed.locals ?? []) Object.assign(module.locals, locals);
    module.terraform.push(...(parsed.terraform ?? []));
    for (const [name, bodies] of Object.entries(parsed.provider ?? {})) module.providers[name] = [...(module.providers[name] ?? []), ...bodies];
  }
  return module;
}

/** Every directory under `root` holding .tf files. */
export function terraformDirectories(root: string): string[] {
  const entries = readdirSync(root, { withFileTypes: true });
  const own = entries.some((entry) => entry.isFile() && entry.name.endsWith('.tf')) ? [root] : [];
  return [...own, ...entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith('.')).flatMap((entry) => terraformDirectories(join(root, entry.name)))];
}

export function resourcesOf(module: Module, type: string): [string, Body][] {
  return Object.entries(module.resources[type] ?? {});
}

/** A nested block (hcl2json keeps blocks as arrays of bodies). */
export function blocks(body: Body | undefined, name: string): Body[] {
  const value = body?.[name];
  return Array.isArray(value) ? (value as Body[]) : [];
}

const REFERENCE = /^\$\{var\.([\w-]+)\}$/;

/**
 * The value a module resource's attribute takes for one caller: a literal as is, `${var.x}`
 * replaced by what the caller passes for x (or the variable's default); anything else is
 * an expression this resolver does not evaluate, returned as its text.
 */
export function resolveArgument(value: unknown, module: Module, call: Body): unknown {
  if (typeof value !== 'string') return value;
  const name = REFERENCE.exec(value)?.[1];
  if (name === undefined) return value;
  return name in call ? call[name] : module.variables[name]?.default;
}

export interface Composition {
  root: Module;
  /** The child modules the root calls, by call name. */
  children: Record<string, Module>;
}

export async function loadComposition(directory: string): Promise<Composition> {
  const root = await loadModule(directory);
  const children: Record<string, Module> = {};
  for (const [name, call] of Object.entries(root.modules)) {
    const source = String(call.source);
    if (source.startsWith('./') || source.startsWith('../')) children[name] = await loadModule(resolve(directory, source));
  }
  return { root, children };
}

function where(module: Module): string {
  return relative(ROOT, module.directory) || '.';
}

// ---- policies over one module ----

/** Storage, secrets, images, disks and keys encrypted; KMS keys rotated. */
export function encryptionViolations(module: Module): string[] {
  const at = where(module);
  const violations: string[] = [];
  for (const [name, db] of resourcesOf(module, 'aws_db_instance')) {
    if (db.storage_encrypted !== true) violations.push(`${at}: aws_db_instance.${name} is not storage_encrypted`);
    if (db.kms_key_id === undefined) violations.push(`${at}: aws_db_instance.${name} has no kms_key_id`);
    if (db.performance_insights_enabled === true && db.performance_insights_kms_key_id === undefined) violations.push(`${at}: aws_db_instance.${name} has Performance Insights without its KMS key`);
  }
  for (const [name, key] of resourcesOf(module, 'aws_kms_key')) if (key.enable_key_rotation !== true) violations.push(`${at}: aws_kms_key.${name} is not rotated`);
  for (const [name, cluster] of resourcesOf(module, 'aws_eks_cluster')) {
    const resources = blocks(cluster, 'encryption_config').flatMap((config) => (config.resources as string[] | undefined) ?? []);
    if (!resources.includes('secrets')) violations.push(`${at}: aws_eks_cluster.${name} does not encrypt Kubernetes secrets`);
  }
  const encryptedBuckets = resourcesOf(module, 'aws_s3_bucket_server_side_encryption_configuration').map(([, config]) => String(config.bucket));
  for (const [name] of resourcesOf(module, 'aws_s3_bucket')) {
    if (!encryptedBuckets.includes(`\${aws_s3_bucket.${name}.id}`)) violations.push(`${at}: aws_s3_bucket.${name} has no encryption configuration`);
  }
  for (const [name, repository] of resourcesOf(module, 'aws_ecr_repository')) {
    if (blocks(repository, 'encryption_configuration')[0]?.encryption_type !== 'KMS') violations.push(`${at}: aws_ecr_repository.${name} is not encrypted with KMS`);
  }
  for (const [name, secret] of resourcesOf(module, 'aws_secretsmanager_secret')) if (secret.kms_key_id === undefined) violations.push(`${at}: aws_secretsmanager_secret.${name} has no kms_key_id`);
  for (const [name, template] of resourcesOf(module, 'aws_launch_template')) {
    const volumes = blocks(template, 'block_device_mappings').flatMap((mapping) => blocks(mapping, 'ebs'));
    if (volumes.length === 0 || volumes.some((volume) => volume.encrypted !== true)) violations.push(`${at}: aws_launch_template.${name} has an unencrypted volume`);
  }
  return violations;
}

const ANYWHERE = new Set(['0.0.0.0/0', '::/0']);

/**
 * No ingress from anywhere, except HTTPS (443 only) to the load balancer's security group.
 * Covers inline ingress blocks, aws_security_group_rule and aws_vpc_security_group_ingress_rule.
 */
export function openIngressViolations(module: Module): string[] {
  const at = where(module);
  const violations: string[] = [];
  const httpsOnly = (rule: Body) => Number(rule.from_port) === 443 && Number(rule.to_port) === 443;
  const forLoadBalancer = (rule: Body) => /aws_security_group\.load_balancer\.id/.test(String(rule.security_group_id));
  for (const [name, group] of resourcesOf(module, 'aws_security_group')) {
    for (const rule of blocks(group, 'ingress')) {
      const sources = [...((rule.cidr_blocks as string[] | undefined) ?? []), ...((rule.ipv6_cidr_blocks as string[] | undefined) ?? [])];
      if (sources.some((cidr) => ANYWHERE.has(cidr))) violations.push(`${at}: aws_security_group.${name} is open to the internet (inline ingress)`);
    }
  }
  for (const [name, rule] of resourcesOf(module, 'aws_vpc_security_group_ingress_rule')) {
    if (!ANYWHERE.has(String(rule.cidr_ipv4)) && !ANYWHERE.has(String(rule.cidr_ipv6))) continue;
    if (!(httpsOnly(rule) && forLoadBalancer(rule))) violations.push(`${at}: aws_vpc_security_group_ingress_rule.${name} is open to the internet`);
  }
  for (const [name, rule] of resourcesOf(module, 'aws_security_group_rule')) {
    if (rule.type !== 'ingress') continue;
    if (((rule.cidr_blocks as string[] | undefined) ?? []).some((cidr) => ANYWHERE.has(cidr)) && !(httpsOnly(rule) && forLoadBalancer(rule))) {
      violations.push(`${at}: aws_security_group_rule.${name} is open to the internet`);
    }
  }
  return violations;
}

/**
 * The database is never public: not publicly_accessible, its subnets have no route to the
 * internet, and its security group admits security groups, not address ranges.
 */
export function publicDatabaseViolations(module: Module): string[] {
  const at = where(module);
  const violations: string[] = [];
  for (const [name, db] of resourcesOf(module, 'aws_db_instance')) {
    if (db.publicly_accessible !== false) violations.push(`${at}: aws_db_instance.${name} is not explicitly publicly_accessible = false`);
  }
  const databaseGroups = resourcesOf(module, 'aws_db_instance').flatMap(([, db]) => ((db.vpc_security_group_ids as string[] | undefined) ?? []).map(String));
  for (const [name, rule] of resourcesOf(module, 'aws_vpc_security_group_ingress_rule')) {
    if (!databaseGroups.includes(String(rule.security_group_id))) continue;
    if (rule.referenced_security_group_id === undefined) violations.push(`${at}: aws_vpc_security_group_ingress_rule.${name} admits addresses to the database, not security groups`);
  }
  const databaseSubnets = resourcesOf(module, 'aws_subnet').filter(([, subnet]) => /\btier\b[^}]*database|"tier":"database"/.test(JSON.stringify(subnet.tags)));
  for (const [subnet] of databaseSubnets) {
    for (const [association, link] of resourcesOf(module, 'aws_route_table_association')) {
      if (!String(link.for_each ?? link.subnet_id).includes(`aws_subnet.${subnet}`)) continue;
      const table = /aws_route_table\.([\w-]+)/.exec(String(link.route_table_id))?.[1] ?? '';
      const routes = blocks(module.resources.aws_route_table?.[table], 'route');
      if (routes.some((route) => ANYWHERE.has(String(route.cidr_block)))) violations.push(`${at}: database subnets (aws_route_table_association.${association}) route to the internet`);
    }
  }
  return violations;
}

/** Resource types that take tags; each must set them (default_tags cover the rest). */
const TAGGED_TYPES = new Set([
  'aws_vpc', 'aws_subnet', 'aws_internet_gateway', 'aws_nat_gateway', 'aws_eip', 'aws_route_table', 'aws_security_group', 'aws_flow_log',
  'aws_cloudwatch_log_group', 'aws_iam_role', 'aws_kms_key', 'aws_eks_cluster', 'aws_eks_node_group', 'aws_eks_addon', 'aws_launch_template',
  'aws_db_instance', 'aws_db_subnet_group', 'aws_db_parameter_group', 'aws_ecr_repository', 'aws_secretsmanager_secret', 'aws_s3_bucket',
  'aws_route53_zone', 'aws_eks_pod_identity_association', 'aws_eks_access_entry',
]);

/** Every taggable resource of a child module passes the caller's tags. */
export function untaggedResources(module: Module): string[] {
  return Object.entries(module.resources)
    .filter(([type]) => TAGGED_TYPES.has(type))
    .flatMap(([type, named]) => Object.entries(named).filter(([, body]) => !/var\.tags/.test(JSON.stringify(body.tags ?? ''))).map(([name]) => `${where(module)}: ${type}.${name} has no tags`));
}

const REQUIRED_TAGS = ['project', 'environment', 'managed-by'];

/** A root module's AWS provider tags everything it creates with the common tags. */
export function defaultTagViolations(root: Module): string[] {
  const at = where(root);
  const providers = root.providers.aws ?? [];
  if (providers.length === 0) return [`${at}: no aws provider`];
  return providers.flatMap((provider) => {
    const tagsExpression = blocks(provider, 'default_tags')[0]?.tags;
    const tags = tagsExpression === '${local.tags}' ? root.locals.tags : tagsExpression;
    const keys = typeof tags === 'object' && tags !== null ? Object.keys(tags) : [];
    return REQUIRED_TAGS.filter((key) => !keys.includes(key)).map((key) => `${at}: default_tags lack ${key}`);
  });
}

const EXACT_VERSION = /^\d+\.\d+\.\d+$/;

/** Root modules pin Terraform and every provider exactly; child modules bound providers to a major. */
export function versionViolations(module: Module, kind: 'root' | 'child'): string[] {
  const at = where(module);
  const settings = module.terraform;
  const violations: string[] = [];
  const requiredVersion = settings.find((block) => block.required_version !== undefined)?.required_version;
  if (typeof requiredVersion !== 'string') violations.push(`${at}: no required_version`);
  const providers = settings.flatMap((block) => (block.required_providers as Record<string, { source?: string; version?: string }>[] | undefined) ?? []);
  if (providers.length === 0) violations.push(`${at}: no required_providers`);
  for (const [name, requirement] of providers.flatMap((entry) => Object.entries(entry))) {
    const version = requirement.version ?? '';
    if (kind === 'root' && !EXACT_VERSION.test(version)) violations.push(`${at}: provider ${name} is not pinned (${version || 'no version'})`);
    if (kind === 'child' && !/>=\s*\d+\.\d+\.\d+\s*,\s*<\s*\d+/.test(version)) violations.push(`${at}: provider ${name} has no bounded range (${version || 'no version'})`);
  }
  for (const [name, call] of Object.entries(module.modules)) {
    const source = String(call.source);
    if (!source.startsWith('./') && !source.startsWith('../') && !EXACT_VERSION.test(typeof call.version === 'string' ? call.version : '')) violations.push(`${at}: module ${name} (${source}) is not pinned`);
  }
  return violations;
}

const META_ARGUMENTS = new Set(['source', 'version', 'count', 'for_each', 'providers', 'depends_on']);

/**
 * Interfaces line up: every var.x a module reads is declared, every local.x defined, every
 * module call passes declared variables and all required ones, and every module.x.y a root
 * reads is an output of x.
 */
export function interfaceViolations(composition: Composition): string[] {
  const violations: string[] = [];
  for (const module of [composition.root, ...Object.values(composition.children)]) {
    const at = where(module);
    for (const name of new Set([...module.text.matchAll(/\bvar\.([A-Za-z_][\w-]*)/g)].map((match) => match[1] ?? ''))) {
      if (!(name in module.variables)) violations.push(`${at}: var.${name} is not declared`);
    }
    for (const name of new Set([...module.text.matchAll(/\blocal\.([A-Za-z_][\w-]*)/g)].map((match) => match[1] ?? ''))) {
      if (!(name in module.locals)) violations.push(`${at}: local.${name} is not defined`);
    }
  }
  const at = where(composition.root);
  for (const [name, call] of Object.entries(composition.root.modules)) {
    const child = composition.children[name];
    if (child === undefined) continue;
    for (const argument of Object.keys(call).filter((key) => !META_ARGUMENTS.has(key))) {
      if (!(argument in child.variables)) violations.push(`${at}: module ${name} passes ${argument}, which ${where(child)} does not declare`);
    }
    for (const [variable, declaration] of Object.entries(child.variables)) {
      if (!('default' in declaration) && !(variable in call)) violations.push(`${at}: module ${name} does not pass the required ${variable}`);
    }
  }
  for (const match of composition.root.text.matchAll(/\bmodule\.([\w-]+)(?:\[\d+\])?\.([\w-]+)/g)) {
    const [, name = '', output = ''] = match;
    const child = composition.children[name];
    if (child === undefined) violations.push(`${at}: module.${name} does not exist`);
    else if (!(output in child.outputs)) violations.push(`${at}: module.${name}.${output} is not an output of ${where(child)}`);
  }
  return [...new Set(violations)];
}

/**
 * No secret value in code, state or outputs: no plain password or secret_string arguments
 * (only their write-only *_wo forms), no literal credentials, no output that exposes a
 * generated secret or hides one behind sensitive = true.
 */
export function secretViolations(module: Module): string[] {
  const at = where(module);
  const violations: string[] = [];
  for (const [type, named] of Object.entries(module.resources)) {
    for (const [name, body] of Object.entries(named)) {
      for (const attribute of ['password', 'master_password', 'secret_string', 'secret_binary']) {
        if (attribute in body) violations.push(`${at}: ${type}.${name} sets ${attribute}, which the state stores (use ${attribute}_wo)`);
      }
    }
  }
  for (const [name, output] of Object.entries(module.outputs)) {
    if (output.sensitive === true || /random_password|\.result\b|password|secret_string/.test(String(output.value))) violations.push(`${at}: output ${name} exposes a secret`);
  }
  for (const [type, named] of Object.entries(module.resources)) {
    if (type === 'random_password' || type === 'random_string') violations.push(`${at}: ${type}.${Object.keys(named).join(', ')} keeps its result in state (use an ephemeral resource)`);
  }
  if (/AKIA[0-9A-Z]{16}/.test(module.text)) violations.push(`${at}: an AWS access key id is committed`);
  if (/(access_key|secret_key)\s*=/.test(module.text)) violations.push(`${at}: static AWS credentials are configured`);
  return violations;
}

/** The S3 backend: encrypted, locked, one key per environment, the bucket given at init. */
export function backendViolations(root: Module, environment: string): string[] {
  const at = where(root);
  const backend = root.terraform.map((block) => block.backend).find((found) => found !== undefined) as Record<string, Body[]> | undefined;
  const s3 = backend?.s3?.[0];
  if (s3 === undefined) return [`${at}: no s3 backend`];
  const violations: string[] = [];
  if (s3.encrypt !== true) violations.push(`${at}: state is not encrypted`);
  if (s3.use_lockfile !== true && s3.dynamodb_table === undefined) violations.push(`${at}: state is not locked`);
  if (!String(s3.key).includes(`/${environment}/`)) violations.push(`${at}: state key ${String(s3.key)} is not the ${environment} environment's`);
  if ('bucket' in s3) violations.push(`${at}: the bucket is committed; give it at init`);
  for (const credential of ['access_key', 'secret_key', 'profile']) if (credential in s3) violations.push(`${at}: backend sets ${credential}`);
  return violations;
}

// ---- the database, as one environment configures it ----

export interface DatabaseSettings {
  multiAz: unknown;
  deletionProtection: unknown;
  backupRetentionDays: unknown;
  publiclyAccessible: unknown;
}

/** What each aws_db_instance of the called database module gets, resolved for this caller. */
export function databaseSettings(composition: Composition): DatabaseSettings[] {
  return Object.entries(composition.root.modules).flatMap(([name, call]) => {
    const child = composition.children[name];
    if (child === undefined) return [];
    return resourcesOf(child, 'aws_db_instance').map(([, db]) => ({
      multiAz: resolveArgument(db.multi_az, child, call),
      deletionProtection: resolveArgument(db.deletion_protection, child, call),
      backupRetentionDays: resolveArgument(db.backup_retention_period, child, call),
      publiclyAccessible: resolveArgument(db.publicly_accessible, child, call),
    }));
  });
}

/** Production keeps a standby and refuses deletion; every environment keeps ≥ 7 days of backups. */
export function databaseViolations(composition: Composition, environment: string): string[] {
  const at = where(composition.root);
  return databaseSettings(composition).flatMap((settings) => {
    const violations: string[] = [];
    if (environment === 'production' && settings.multiAz !== true) violations.push(`${at}: the production database is not Multi-AZ`);
    if (environment === 'production' && settings.deletionProtection !== true) violations.push(`${at}: the production database has no deletion protection`);
    if (typeof settings.backupRetentionDays !== 'number' || settings.backupRetentionDays < 7) violations.push(`${at}: backups are kept ${String(settings.backupRetentionDays)} days, fewer than 7`);
    if (settings.publiclyAccessible !== false) violations.push(`${at}: the database may be publicly accessible`);
    return violations;
  });
}
