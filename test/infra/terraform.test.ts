/**
 * infra/ offline: `terraform fmt` (Terraform 1.11, the machine's), every file parsed, and
 * policies over the parsed configuration (encryption, no public database, production's
 * database protections, backups, open ingress, tags, pinned versions, interfaces that line up,
 * no secret in code, state or outputs, the state backend). `terraform validate` and `plan`
 * need the providers, which only the pipeline (.github/workflows/infra.yml,
 * .gitlab/ci/infra.gitlab-ci.yml) can download. Each policy is also run on a bad fixture, so
 * none passes by never looking.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { find, OVERLAYS, renderOverlay } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';
import {
  type Composition,
  type Module,
  backendViolations,
  databaseViolations,
  defaultTagViolations,
  encryptionViolations,
  interfaceViolations,
  loadComposition,
  loadModule,
  openIngressViolations,
  parseHcl,
  publicDatabaseViolations,
  resourcesOf,
  secretViolations,
  terraformDirectories,
  untaggedResources,
  versionViolations,
} from './terraform.ts';

const INFRA = join(ROOT, 'infra');
const ENVIRONMENTS = ['staging', 'production'] as const;
const FIXTURE = join(ROOT, 'test/infra/fixtures/terraform-bad');
/** Terraform 1.11: the machine's, or the one scripts/ensure-terraform.sh downloads and verifies. */
const TERRAFORM = execFileSync('bash', [join(ROOT, 'scripts/ensure-terraform.sh')], { encoding: 'utf8' }).trim();

/** Terraform with an empty CLI configuration (the machine's points at a missing file). */
async function terraform(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const config = join(mkdtempSync(join(tmpdir(), 'shipshape-terraformrc-')), 'terraformrc');
  writeFileSync(config, '');
  try {
    const { stdout, stderr } = await promisify(execFile)(TERRAFORM, args, { cwd, env: { ...process.env, TF_CLI_CONFIG_FILE: config, TF_IN_AUTOMATION: '1' } });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

describe('terraform fmt', () => {
  it('finds infra/ formatted (terraform fmt -check -recursive)', async () => {
    const result = await terraform(['fmt', '-check', '-recursive', '-diff', '.'], INFRA);

    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('reports a file that is not', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'shipshape-fmt-'));
    writeFileSync(join(directory, 'main.tf'), 'locals {\n  a = 1\n  bb = 2\n}\n');
    const result = await terraform(['fmt', '-check', '-recursive', '.'], directory);
    rmSync(directory, { recursive: true, force: true });

    expect(result.code).not.toBe(0);
    expect(result.output.trim()).toBe('main.tf');
  });
});

describe('infra/ parses', () => {
  it('has the bootstrap, both environments and the six modules', () => {
    expect(terraformDirectories(INFRA).map((directory) => relative(INFRA, directory)).sort()).toEqual([
      'bootstrap',
      'envs/production',
      'envs/staging',
      'modules/cluster',
      'modules/database',
      'modules/dns',
      'modules/network',
      'modules/registry',
      'modules/secrets',
    ]);
  });

  it.each(terraformDirectories(INFRA).map((directory) => [relative(INFRA, directory), directory]))('%s: every file is valid HCL', async (_name, directory) => {
    const module = await loadModule(directory);

    expect(Object.keys(module.resources).length + Object.keys(module.modules).length).toBeGreaterThan(0);
  });

  it('rejects a file that is not HCL, naming it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'shipshape-hcl-'));
    writeFileSync(join(directory, 'broken.tf'), 'resource "aws_s3_bucket" "x" {\n  bucket = \n');
    await expect(loadModule(directory)).rejects.toThrow(/broken\.tf/);
    rmSync(directory, { recursive: true, force: true });
  });
});

describe.each(ENVIRONMENTS)('infra/envs/%s', (environment) => {
  let composition: Composition;
  let modules: Module[];

  beforeAll(async () => {
    composition = await loadComposition(join(INFRA, 'envs', environment));
    modules = Object.values(composition.children);
  });

  it('composes the modules from infra/modules', () => {
    expect(Object.values(composition.root.modules).map((call) => String(call.source)).every((source) => source.startsWith('../../modules/'))).toBe(true);
    expect(Object.keys(composition.children)).toEqual(expect.arrayContaining(['network', 'cluster', 'secrets']));
  });

  it('lines up: variables declared and passed, outputs that exist, locals defined', () => {
    expect(interfaceViolations(composition)).toEqual([]);
  });

  it('pins Terraform and the providers exactly, and bounds them in the modules', () => {
    expect(versionViolations(composition.root, 'root')).toEqual([]);
    for (const module of modules) expect(versionViolations(module, 'child')).toEqual([]);
  });

  it('gives every variable without a default a value in terraform.tfvars, and only declared ones', async () => {
    const tfvars = join(INFRA, 'envs', environment, 'terraform.tfvars');
    const values = (await parseHcl('terraform.tfvars', readFileSync(tfvars, 'utf8'))) as Record<string, unknown>;
    const required = Object.entries(composition.root.variables).filter(([, declaration]) => !('default' in declaration)).map(([name]) => name);

    expect(Object.keys(values).filter((name) => !(name in composition.root.variables))).toEqual([]);
    expect(required.filter((name) => !(name in values))).toEqual([]);
    expect(required.sort()).toEqual(['admin_role_arns', 'api_access_cidrs', 'team_role_groups']);
  });

  it("puts people's SSO roles in exactly the Kubernetes groups the application's RoleBindings name, with no access policy", async () => {
    const tfvars = (await parseHcl('terraform.tfvars', readFileSync(join(INFRA, 'envs', environment, 'terraform.tfvars'), 'utf8'))) as { team_role_groups: Record<string, string[]> };
    const cluster = composition.children.cluster as Module;
    const bound = new Set(
      OVERLAYS.flatMap((overlay) => renderOverlay(overlay))
        .filter((object) => object.kind === 'RoleBinding')
        .flatMap((binding) => (binding.subjects as { kind: string; name: string }[]).filter((subject) => subject.kind === 'Group').map((subject) => subject.name)),
    );

    expect([...new Set(Object.values(tfvars.team_role_groups).flat())].sort()).toEqual([...bound].sort());
    expect(cluster.resources.aws_eks_access_entry?.teams?.kubernetes_groups).toBe('${each.value}');
    // Only the administrators' entries get an access policy.
    expect(Object.keys(cluster.resources.aws_eks_access_policy_association ?? {})).toEqual(['admins']);
  });

  it('keeps its own state in S3, encrypted and locked, the bucket given at init', () => {
    expect(backendViolations(composition.root, environment)).toEqual([]);
  });

  it('tags everything: default tags on the provider, the tags passed to every taggable resource', () => {
    expect(defaultTagViolations(composition.root)).toEqual([]);
    expect(modules.flatMap(untaggedResources)).toEqual([]);
  });

  it('encrypts storage, secrets, images and disks with rotated KMS keys', () => {
    expect(modules.flatMap(encryptionViolations)).toEqual([]);
  });

  it('opens nothing to the internet but HTTPS to the load balancer', () => {
    expect([composition.root, ...modules].flatMap(openIngressViolations)).toEqual([]);
    const open = modules.flatMap((module) => resourcesOf(module, 'aws_vpc_security_group_ingress_rule')).filter(([, rule]) => rule.cidr_ipv4 === '0.0.0.0/0');
    expect(open.map(([name, rule]) => `${name}:${String(rule.from_port)}-${String(rule.to_port)}`)).toEqual(['load_balancer_https:443-443']);
  });

  it('keeps the database private, and protected in production', () => {
    expect(modules.flatMap(publicDatabaseViolations)).toEqual([]);
    expect(databaseViolations(composition, environment)).toEqual([]);
  });

  it('holds no secret value in code, state or outputs', () => {
    expect([composition.root, ...modules].flatMap(secretViolations)).toEqual([]);
    expect(Object.keys(composition.root.resources)).not.toContain('random_password');
  });
});

describe('infra/modules, what each is for', () => {
  it('registry: immutable tags, scanned on push, and a lifecycle that never expires a release', async () => {
    const registry = await loadModule(join(INFRA, 'modules/registry'));
    const repository = registry.resources.aws_ecr_repository?.this;
    const lifecycle = String(registry.resources.aws_ecr_lifecycle_policy?.this?.policy);

    expect(repository?.image_tag_mutability).toBe('IMMUTABLE');
    expect(repository?.image_scanning_configuration).toEqual([{ scan_on_push: true }]);
    // Rule 1 (first evaluated) keeps every release-tagged image; only commit and untagged images expire.
    expect(lifecycle).toMatch(/rulePriority = 1[\s\S]*tagPrefixList = var\.release_tag_prefixes[\s\S]*countNumber\s+= 10000/);
    const production = await loadModule(join(INFRA, 'envs/production'));
    expect(production.modules.registry?.release_tag_prefixes).toEqual(['v', '0.', '1.', '2.', '3.', '4.', '5.', '6.', '7.', '8.', '9.']);
  });

  it('database: PostgreSQL 17, Performance Insights and enhanced monitoring, TLS forced, backups in a stated window', async () => {
    const database = await loadModule(join(INFRA, 'modules/database'));
    const instance = database.resources.aws_db_instance?.this ?? {};
    const parameters = Object.fromEntries((database.resources.aws_db_parameter_group?.this?.parameter as { name: string; value: string }[]).map((parameter) => [parameter.name, parameter.value]));
    const production = await loadModule(join(INFRA, 'envs/production'));

    expect(instance.engine).toBe('postgres');
    expect(production.modules.database?.engine_version).toMatch(/^17\.\d+$/);
    expect(instance).toMatchObject({ performance_insights_enabled: true, monitoring_interval: 60, backup_window: '02:00-03:00', copy_tags_to_snapshot: true, delete_automated_backups: false });
    expect(parameters['rds.force_ssl']).toBe('1');
    expect(production.modules.database?.backup_retention_days).toBe(14);
  });

  it('secrets: the values reach Secrets Manager and RDS only through write-only arguments', async () => {
    const secrets = await loadModule(join(INFRA, 'modules/secrets'));
    const database = await loadModule(join(INFRA, 'modules/database'));

    expect(Object.keys(secrets.resources.aws_secretsmanager_secret_version?.application ?? {}).sort()).toEqual(['secret_id', 'secret_string_wo', 'secret_string_wo_version']);
    expect(secrets.variables.values?.ephemeral).toBe(true);
    expect(database.variables.password?.ephemeral).toBe(true);
    expect(database.resources.aws_db_instance?.this?.password_wo).toBe('${var.password}');
  });
});

describe('infra/bootstrap', () => {
  let bootstrap: Module;

  beforeAll(async () => {
    bootstrap = await loadModule(join(INFRA, 'bootstrap'));
  });

  it('creates a versioned, encrypted, private, TLS-only state bucket that Terraform will not destroy', () => {
    expect(encryptionViolations(bootstrap)).toEqual([]);
    expect(resourcesOf(bootstrap, 'aws_s3_bucket_versioning').map(([name]) => name)).toEqual(['state']);
    expect(resourcesOf(bootstrap, 'aws_s3_bucket_public_access_block').map(([, block]) => [block.block_public_acls, block.block_public_policy, block.ignore_public_acls, block.restrict_public_buckets])).toEqual([[true, true, true, true]]);
    expect(bootstrap.resources.aws_s3_bucket?.state?.lifecycle).toEqual([{ prevent_destroy: true }]);
    expect(bootstrap.text).toMatch(/aws:SecureTransport/);
  });

  it('lets pipelines in through OIDC only, apply only from the approved environment', () => {
    expect(Object.keys(bootstrap.resources)).not.toContain('aws_iam_access_key');
    expect(Object.keys(bootstrap.resources.aws_iam_openid_connect_provider ?? {}).sort()).toEqual(['github', 'gitlab']);
    expect(bootstrap.text).toMatch(/:environment:\$\{each\.value\.environment\}"\] : \["repo:\$\{var\.github_repository\}:\*"\]/);
    expect(versionViolations(bootstrap, 'root')).toEqual([]);
    expect(secretViolations(bootstrap)).toEqual([]);
  });
});

describe('the database connection budget', () => {
  interface Budget {
    max_pods: number;
    surge_pods: number;
    pool_size: number;
    migration_pool: number;
    admin_reserve: number;
  }

  async function budgetOf(environment: string): Promise<Budget> {
    return (await loadModule(join(INFRA, 'envs', environment))).locals.connection_budget as Budget;
  }

  /** What the rendered overlay says the application can open at most. */
  function applicationPeak(environment: (typeof ENVIRONMENTS)[number]) {
    const objects = renderOverlay(environment);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'shipshape').spec as { maxReplicas: number };
    const deployment = find(objects, 'Deployment', 'shipshape').spec as { strategy: { rollingUpdate: { maxSurge: number } } };
    const config = find(objects, 'ConfigMap', 'shipshape-config').data ?? {};
    return { maxPods: hpa.maxReplicas, surge: deployment.strategy.rollingUpdate.maxSurge, pool: Number(config.DATABASE_POOL_SIZE) };
  }

  it.each(ENVIRONMENTS)('%s: the budget is the overlay\'s autoscaler maximum, rollout surge and pool size', async (environment) => {
    const budget = await budgetOf(environment);
    const peak = applicationPeak(environment);

    expect({ maxPods: budget.max_pods, surge: budget.surge_pods, pool: budget.pool_size }).toEqual(peak);
    // The migration Job sets no DATABASE_POOL_SIZE: it runs with the application's default, 10.
    expect(budget.migration_pool).toBe(10);
  });

  it('production: RDS max_connections = (10 + 1) x 10 + 10 + 20 = 140, from the parameter group', async () => {
    const database = await loadModule(join(INFRA, 'modules/database'));
    const parameters = (database.resources.aws_db_parameter_group?.this?.parameter as { name: string; value: string }[]).map((parameter) => [parameter.name, parameter.value]);

    expect(parameters).toContainEqual(['max_connections', '${tostring(local.max_connections)}']);
    expect(database.locals.application_connections).toBe('${(local.budget.max_pods + local.budget.surge_pods) * local.budget.pool_size + local.budget.migration_pool}');
    expect(database.locals.max_connections).toBe('${local.application_connections + local.budget.admin_reserve}');
    const budget = await budgetOf('production');
    expect((budget.max_pods + budget.surge_pods) * budget.pool_size + budget.migration_pool + budget.admin_reserve).toBe(140);
  });

  it('staging: the in-cluster PostgreSQL runs with max_connections = (3 + 1) x 10 + 10 + 10 = 60', async () => {
    const budget = await budgetOf('staging');
    const postgres = find(renderOverlay('staging'), 'StatefulSet', 'postgres').spec as { template: { spec: { containers: { args?: string[] }[] } } };

    expect((budget.max_pods + budget.surge_pods) * budget.pool_size + budget.migration_pool + budget.admin_reserve).toBe(60);
    expect(postgres.template.spec.containers[0]?.args).toEqual(['-c', 'max_connections=60']);
  });
});

describe('the policies find what they look for (test/infra/fixtures/terraform-bad)', () => {
  let composition: Composition;
  let database: Module;

  beforeAll(async () => {
    composition = await loadComposition(FIXTURE);
    database = composition.children.database as Module;
  });

  it('unpinned Terraform, provider and registry module; a provider without bounds in a module', () => {
    expect(versionViolations(composition.root, 'root')).toEqual([
      'test/infra/fixtures/terraform-bad: provider aws is not pinned (~> 6.0)',
      'test/infra/fixtures/terraform-bad: module network (terraform-aws-modules/vpc/aws) is not pinned',
    ]);
    expect(versionViolations(database, 'child')).toEqual(['test/infra/fixtures/terraform-bad/modules/database: provider aws has no bounded range (no version)']);
  });

  it('a committed bucket, unencrypted and unlocked state shared by every environment', () => {
    expect(backendViolations(composition.root, 'production')).toEqual([
      'test/infra/fixtures/terraform-bad: state is not encrypted',
      'test/infra/fixtures/terraform-bad: state is not locked',
      'test/infra/fixtures/terraform-bad: state key shipshape/terraform.tfstate is not the production environment\'s',
      'test/infra/fixtures/terraform-bad: the bucket is committed; give it at init',
    ]);
  });

  it('missing default tags and a resource without them', () => {
    expect(defaultTagViolations(composition.root)).toEqual(['test/infra/fixtures/terraform-bad: default_tags lack environment', 'test/infra/fixtures/terraform-bad: default_tags lack managed-by']);
    expect(untaggedResources(database)).toEqual(['test/infra/fixtures/terraform-bad/modules/database: aws_security_group.database has no tags']);
  });

  it('an undeclared variable, an unknown argument, a missing one, and an output that does not exist', () => {
    expect(interfaceViolations(composition)).toEqual([
      'test/infra/fixtures/terraform-bad/modules/database: var.vpc_id is not declared',
      'test/infra/fixtures/terraform-bad: module database passes instance_size, which test/infra/fixtures/terraform-bad/modules/database does not declare',
      'test/infra/fixtures/terraform-bad: module database does not pass the required tags',
      'test/infra/fixtures/terraform-bad: module.database.endpoint is not an output of test/infra/fixtures/terraform-bad/modules/database',
    ]);
  });

  it('unencrypted storage, a key never rotated, a bucket without encryption', () => {
    expect(encryptionViolations(database)).toEqual([
      'test/infra/fixtures/terraform-bad/modules/database: aws_db_instance.this is not storage_encrypted',
      'test/infra/fixtures/terraform-bad/modules/database: aws_db_instance.this has no kms_key_id',
      'test/infra/fixtures/terraform-bad/modules/database: aws_kms_key.database is not rotated',
      'test/infra/fixtures/terraform-bad/modules/database: aws_s3_bucket.dumps has no encryption configuration',
    ]);
  });

  it('SSH and PostgreSQL open to the internet', () => {
    expect(openIngressViolations(database)).toEqual([
      'test/infra/fixtures/terraform-bad/modules/database: aws_security_group.database is open to the internet (inline ingress)',
      'test/infra/fixtures/terraform-bad/modules/database: aws_vpc_security_group_ingress_rule.postgres is open to the internet',
    ]);
  });

  it('a public database, admitting addresses; production without a standby, deletion protection or a week of backups', () => {
    expect(publicDatabaseViolations(database)).toEqual([
      'test/infra/fixtures/terraform-bad/modules/database: aws_db_instance.this is not explicitly publicly_accessible = false',
      'test/infra/fixtures/terraform-bad/modules/database: aws_vpc_security_group_ingress_rule.postgres admits addresses to the database, not security groups',
    ]);
    expect(databaseViolations(composition, 'production')).toEqual([
      'test/infra/fixtures/terraform-bad: the production database is not Multi-AZ',
      'test/infra/fixtures/terraform-bad: the production database has no deletion protection',
      'test/infra/fixtures/terraform-bad: backups are kept 1 days, fewer than 7',
      'test/infra/fixtures/terraform-bad: the database may be publicly accessible',
    ]);
  });

  it('a password in code and state, a generated secret as an output, committed credentials', () => {
    expect(secretViolations(database)).toEqual(['test/infra/fixtures/terraform-bad/modules/database: aws_db_instance.this sets password, which the state stores (use password_wo)']);
    expect(secretViolations(composition.root)).toEqual([
      'test/infra/fixtures/terraform-bad: output admin_password exposes a secret',
      'test/infra/fixtures/terraform-bad: random_password.admin keeps its result in state (use an ephemeral resource)',
      'test/infra/fixtures/terraform-bad: an AWS access key id is committed',
      'test/infra/fixtures/terraform-bad: static AWS credentials are configured',
    ]);
  });
});
