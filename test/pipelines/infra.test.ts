/**
 * The infrastructure pipelines (.github/workflows/infra.yml, .gitlab/ci/infra.gitlab-ci.yml)
 * and their shared script (scripts/infra/terraform.sh): plans on changes, applies only the
 * saved plan on main, production behind the production environment's approval, credentials
 * by OIDC only. The script runs for real against a stand-in terraform in a scratch copy.
 */
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type GitlabJob, type Job, ROOT, type Workflow, environmentOf, needsOf, run, tempDir } from './helpers.ts';

const workflowText = readFileSync(join(ROOT, '.github/workflows/infra.yml'), 'utf8');
const workflow = parse(workflowText) as Workflow;
const gitlabText = readFileSync(join(ROOT, '.gitlab/ci/infra.gitlab-ci.yml'), 'utf8');
const gitlab = parse(gitlabText) as Record<string, GitlabJob & { parallel?: unknown }>;

const job = (name: string) => workflow.jobs[name] as Job;
const runs = (name: string) => (job(name).steps ?? []).flatMap((step) => (step.run === undefined ? [] : [step.run]));
const STATIC_KEYS = /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws_access_key|secrets\.AWS/i;

describe('.github/workflows/infra.yml', () => {
  it('runs on pull requests and pushes to main that touch infra/ or the scripts', () => {
    const on = workflow.on as Record<string, { paths: string[]; branches?: string[] }>;

    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
    expect(on.push?.branches).toEqual(['main']);
    for (const trigger of [on.pull_request, on.push]) expect(trigger?.paths).toEqual(expect.arrayContaining(['infra/**', 'scripts/infra/**', 'scripts/ensure-terraform.sh']));
    expect(workflow.concurrency).toMatchObject({ 'cancel-in-progress': false });
  });

  it('validates without any cloud credential, then plans both environments with the read-only plan roles', () => {
    expect(job('validate').permissions).toBeUndefined();
    expect(runs('validate')).toEqual(['bash scripts/infra/terraform.sh validate "$ENVIRONMENT"']);
    expect(needsOf(job('plan'))).toEqual(['validate']);
    expect(job('plan').permissions).toEqual({ contents: 'read', 'id-token': 'write', 'pull-requests': 'write' });
    expect(job('plan').env?.AWS_ROLE_ARN).toMatch(/vars\.AWS_PLAN_ROLE_ARN_PRODUCTION[\s\S]*vars\.AWS_PLAN_ROLE_ARN_STAGING/);
    expect(runs('plan')[0]).toBe('bash scripts/infra/terraform.sh plan "$ENVIRONMENT"');
  });

  it('posts the plan on the pull request and keeps it as an artifact', () => {
    const comment = (job('plan').steps ?? []).find((step) => step.run?.includes('gh pr comment'));
    const upload = (job('plan').steps ?? []).find((step) => step.uses?.startsWith('actions/upload-artifact@'));

    expect(comment?.if).toBe("${{ github.event_name == 'pull_request' }}");
    expect(comment?.env?.PULL_REQUEST).toBe('${{ github.event.pull_request.number }}');
    expect(String(upload?.with?.path)).toContain('plan.tfplan');
    expect(upload?.with?.name).toBe('plan-${{ matrix.environment }}');
  });

  it('applies on main only, the plan this run made, staging first, production in the production environment', () => {
    for (const [name, environment, after] of [['apply-staging', 'staging', 'plan'], ['apply-production', 'production', 'apply-staging']] as const) {
      expect(job(name).if, name).toBe("${{ github.event_name == 'push' }}");
      expect(environmentOf(job(name)), name).toBe(environment);
      expect(needsOf(job(name)), name).toEqual([after]);
      expect(runs(name), name).toEqual([
        `gh run download "$GITHUB_RUN_ID" --repo "$GITHUB_REPOSITORY" --name plan-${environment} --dir infra/envs/${environment}`,
        `bash scripts/infra/terraform.sh apply ${environment}`,
      ]);
      expect(job(name).env?.AWS_ROLE_ARN, name).toBe(`\${{ vars.AWS_APPLY_ROLE_ARN_${environment.toUpperCase()} }}`);
    }
    // The same gate as the production deploy in release.yml.
    const release = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8')) as Workflow;
    expect(environmentOf(release.jobs['deploy-production'] as Job)).toBe(environmentOf(job('apply-production')));
  });

  it('never uses a static AWS key', () => {
    expect(workflowText).not.toMatch(STATIC_KEYS);
  });
});

describe('.gitlab/ci/infra.gitlab-ci.yml', () => {
  const CHANGES = ['infra/**/*', 'scripts/infra/**/*', 'scripts/ensure-terraform.sh', '.gitlab/ci/infra.gitlab-ci.yml'];

  it('is included by .gitlab-ci.yml and runs in its stages', () => {
    const main = parse(readFileSync(join(ROOT, '.gitlab-ci.yml'), 'utf8')) as { include: unknown[]; stages: string[] };

    expect(main.include).toContainEqual({ local: '.gitlab/ci/infra.gitlab-ci.yml' });
    const stageOf = (candidate: GitlabJob): string | undefined => candidate.stage ?? (typeof candidate.extends === 'string' ? gitlab[candidate.extends]?.stage : undefined);
    for (const [name, candidate] of Object.entries(gitlab).filter(([name]) => !name.startsWith('.'))) expect(main.stages, name).toContain(stageOf(candidate));
  });

  it('exchanges the job\'s OIDC token for the role, never a static key', () => {
    expect(gitlab['.infra-cloud']?.id_tokens).toEqual({ AWS_OIDC_TOKEN: { aud: 'sts.amazonaws.com' } });
    expect(gitlabText).not.toMatch(STATIC_KEYS);
    // A tag pipeline only releases an image: no plan, no apply.
    expect(gitlab['.infra']?.rules).toEqual([{ if: '$CI_COMMIT_TAG', when: 'never' }, { changes: CHANGES }]);
  });

  it('plans each environment with its plan role and reports the plan to the merge request', () => {
    for (const environment of ['staging', 'production']) {
      const plan = gitlab[`infra-plan-${environment}`];
      expect(plan?.extends).toBe('.infra-plan');
      expect(plan?.variables).toEqual({ ENVIRONMENT: environment, AWS_ROLE_ARN: `$AWS_PLAN_ROLE_ARN_${environment.toUpperCase()}` });
    }
    expect(gitlab['.infra-plan']?.script).toEqual(['bash scripts/infra/terraform.sh plan "$ENVIRONMENT"']);
    expect((gitlab['.infra-plan']?.artifacts?.reports as Record<string, string> | undefined)?.terraform).toBe('infra/envs/$ENVIRONMENT/plan-report.json');
  });

  it('applies the saved plan on the default branch: staging at once, production by hand, blocking, in the protected environment', () => {
    const staging = gitlab['infra-apply-staging'];
    const production = gitlab['infra-apply-production'];

    expect(gitlab['.infra-apply']?.interruptible).toBe(false);
    expect(staging?.needs).toEqual([{ job: 'infra-plan-staging', artifacts: true }]);
    expect(staging?.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', changes: CHANGES }]);
    expect(production?.needs).toEqual([{ job: 'infra-plan-production', artifacts: true }, { job: 'infra-apply-staging', artifacts: false }]);
    expect(production?.rules).toEqual([{ if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH', changes: CHANGES, when: 'manual' }]);
    expect(production?.allow_failure).toBe(false);
    expect(production?.environment).toEqual({ name: 'production', deployment_tier: 'production' });
    expect(production?.variables?.AWS_ROLE_ARN).toBe('$AWS_APPLY_ROLE_ARN_PRODUCTION');
    expect(staging?.resource_group).toBe('infra-staging');
    expect(production?.resource_group).toBe('infra-production');
  });
});

describe('scripts/infra/terraform.sh (with a stand-in terraform)', () => {
  let project: string;
  let log: string;

  /** A scratch copy of the script and the environment directories, and a terraform that logs its calls. */
  beforeAll(() => {
    project = tempDir('terraform-script');
    mkdirSync(join(project, 'scripts/infra'), { recursive: true });
    copyFileSync(join(ROOT, 'scripts/infra/terraform.sh'), join(project, 'scripts/infra/terraform.sh'));
    copyFileSync(join(ROOT, 'scripts/ensure-terraform.sh'), join(project, 'scripts/ensure-terraform.sh'));
    for (const environment of ['staging', 'production']) mkdirSync(join(project, 'infra/envs', environment), { recursive: true });
    const bin = join(project, 'bin');
    mkdirSync(bin);
    log = join(project, 'calls.log');
    const plan = JSON.stringify({ resource_changes: [{ change: { actions: ['create'] } }, { change: { actions: ['create'] } }, { change: { actions: ['update'] } }, { change: { actions: ['delete', 'create'] } }, { change: { actions: ['no-op'] } }] });
    writeFileSync(
      join(bin, 'terraform'),
      [
        '#!/usr/bin/env bash',
        'if [[ $1 == version ]]; then echo "Terraform v1.11.4"; exit 0; fi',
        `printf '%s | role=%s token=%s\\n' "$*" "\${AWS_ROLE_ARN:-}" "$(cat "\${AWS_WEB_IDENTITY_TOKEN_FILE:-/dev/null}")" >> "${log}"`,
        `if [[ $* == *"show -json"* ]]; then echo '${plan}'; fi`,
        'if [[ $* == *"show -no-color"* ]]; then echo "Plan: 3 to add, 1 to change, 1 to destroy."; fi',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'terraform'), 0o755);
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  function script(args: string[], env: Record<string, string | undefined> = {}) {
    writeFileSync(log, '');
    return run('bash', [join(project, 'scripts/infra/terraform.sh'), ...args], {
      cwd: project,
      env: { PATH: `${join(project, 'bin')}:${process.env.PATH ?? ''}`, AWS_ROLE_ARN: undefined, AWS_OIDC_TOKEN: undefined, ACTIONS_ID_TOKEN_REQUEST_URL: undefined, TF_STATE_BUCKET: undefined, ...env },
    });
  }

  const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);

  it('validate: fmt, then init without the backend and validate, with no credentials at all', async () => {
    const result = await script(['validate', 'staging']);

    expect(result.code, result.stderr).toBe(0);
    expect(calls()).toEqual([
      'fmt -check -recursive infra | role= token=',
      '-chdir=infra/envs/staging init -backend=false | role= token=',
      '-chdir=infra/envs/staging validate | role= token=',
    ]);
  });

  it('plan: the GitLab OIDC token for the role, the state bucket at init, the saved plan, its text and its counts', async () => {
    const result = await script(['plan', 'production'], { AWS_ROLE_ARN: 'arn:aws:iam::1:role/plan', AWS_OIDC_TOKEN: 'oidc.jwt', TF_STATE_BUCKET: 'acme-state' });

    expect(result.code, result.stderr).toBe(0);
    expect(calls()).toEqual([
      '-chdir=infra/envs/production init -backend-config=bucket=acme-state | role=arn:aws:iam::1:role/plan token=oidc.jwt',
      '-chdir=infra/envs/production plan -lock-timeout=5m -out=plan.tfplan | role=arn:aws:iam::1:role/plan token=oidc.jwt',
      '-chdir=infra/envs/production show -no-color plan.tfplan | role=arn:aws:iam::1:role/plan token=oidc.jwt',
      '-chdir=infra/envs/production show -json plan.tfplan | role=arn:aws:iam::1:role/plan token=oidc.jwt',
    ]);
    expect(readFileSync(join(project, 'infra/envs/production/plan.txt'), 'utf8')).toContain('Plan: 3 to add');
    expect(JSON.parse(readFileSync(join(project, 'infra/envs/production/plan-report.json'), 'utf8'))).toEqual({ create: 3, update: 1, delete: 1 });
  });

  it('plan: refuses to run without a role, a token or the state bucket', async () => {
    expect((await script(['plan', 'staging'], { AWS_OIDC_TOKEN: 'x', TF_STATE_BUCKET: 'b' })).stderr).toMatch(/AWS_ROLE_ARN is not set/);
    expect((await script(['plan', 'staging'], { AWS_ROLE_ARN: 'r', TF_STATE_BUCKET: 'b' })).stderr).toMatch(/no OIDC token/);
    expect((await script(['plan', 'staging'], { AWS_ROLE_ARN: 'r', AWS_OIDC_TOKEN: 'x' })).stderr).toMatch(/TF_STATE_BUCKET is not set/);
    expect(calls()).toEqual([]);
  });

  it('apply: only a saved plan, and exactly that plan', async () => {
    const env = { AWS_ROLE_ARN: 'arn:aws:iam::1:role/apply', AWS_OIDC_TOKEN: 'oidc.jwt', TF_STATE_BUCKET: 'acme-state' };
    const missing = await script(['apply', 'staging'], env);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/plan\.tfplan missing/);
    expect(calls()).toEqual([]);

    writeFileSync(join(project, 'infra/envs/staging/plan.tfplan'), 'saved plan');
    const applied = await script(['apply', 'staging'], env);

    expect(applied.code, applied.stderr).toBe(0);
    expect(calls().at(-1)).toBe('-chdir=infra/envs/staging apply -lock-timeout=5m plan.tfplan | role=arn:aws:iam::1:role/apply token=oidc.jwt');
  });

  it('refuses bad usage and unknown environments', async () => {
    expect((await script(['destroy', 'staging'])).code).toBe(2);
    expect((await script(['plan', 'qa'])).code).toBe(2);
    expect((await script(['plan'])).code).toBe(2);
    expect(existsSync(join(project, 'infra/envs/qa'))).toBe(false);
  });
});

describe('gitlab-ci-local: the infrastructure jobs appear when infra/ changes', () => {
  let project: string;

  function gitlabCiLocal(args: string[], variables: Record<string, string>, unset: string[]) {
    const options = [...Object.entries(variables).flatMap(([name, value]) => ['--variable', `${name}=${value}`]), ...unset.flatMap((name) => ['--unset-variable', name])];
    return run(process.execPath, [join(ROOT, 'node_modules/gitlab-ci-local/dist/index.js'), ...args, ...options], {
      cwd: project,
      env: { GCL_IGNORE_PREDEFINED_VARS: 'CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_COMMIT_TAG,CI_MERGE_REQUEST_IID,CI_SERVER_HOST' },
    });
  }

  async function jobs(variables: Record<string, string>, unset: string[] = []): Promise<Record<string, string>> {
    const listed = await gitlabCiLocal(['--list-json'], variables, unset);
    expect(listed.code, listed.stderr).toBe(0);
    const all = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('['))) as { name: string; stage: string; when: string }[];
    return Object.fromEntries(all.filter((candidate) => candidate.name.startsWith('infra-') && candidate.when !== 'never').map((candidate) => [candidate.name, `${candidate.stage}/${candidate.when}`]));
  }

  beforeAll(async () => {
    project = tempDir('gitlab-ci-local-infra');
    for (const file of ['.gitlab-ci.yml', 'package.json', 'package-lock.json']) copyFileSync(join(ROOT, file), join(project, file));
    for (const directory of ['.gitlab', 'scripts', 'infra']) cpSync(join(ROOT, directory), join(project, directory), { recursive: true });
    const templates = join(project, '.gitlab-ci-local/includes/gitlab.com/gitlab-org/gitlab/-/raw/HEAD/lib/gitlab/ci/templates/Jobs');
    mkdirSync(templates, { recursive: true });
    cpSync(join(ROOT, 'test/pipelines/fixtures/gitlab-templates/Jobs'), templates, { recursive: true });
    const git = (...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: project });
    await git('init', '--quiet', '--initial-branch', 'main');
    await git('remote', 'add', 'origin', 'https://gitlab.com/your-org/shipshape.git');
    await git('add', '--all', '--', '.', ':!.gitlab-ci-local');
    await git('commit', '--quiet', '--message', 'before');
    await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    await git('symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    writeFileSync(join(project, 'infra/envs/staging/variables.tf'), `${readFileSync(join(project, 'infra/envs/staging/variables.tf'), 'utf8')}\n`);
    await git('commit', '--quiet', '--all', '--message', 'an infrastructure change');
  });
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it('on the default branch: validate and plan both, apply staging, production waiting for a person', async () => {
    expect(await jobs({})).toEqual({
      'infra-checks': 'test/on_success',
      'infra-validate: [staging]': 'test/on_success',
      'infra-validate: [production]': 'test/on_success',
      'infra-plan-staging': 'test/on_success',
      'infra-plan-production': 'test/on_success',
      'infra-apply-staging': 'staging/on_success',
      'infra-apply-production': 'production/manual',
    });
  });

  it('in a merge request: validated and planned for review, nothing applied', async () => {
    expect(await jobs({ CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '7' }, ['CI_COMMIT_BRANCH'])).toEqual({
      'infra-checks': 'test/on_success',
      'infra-validate: [staging]': 'test/on_success',
      'infra-validate: [production]': 'test/on_success',
      'infra-plan-staging': 'test/on_success',
      'infra-plan-production': 'test/on_success',
    });
  });
});
