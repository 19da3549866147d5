/**
 * Chat notifications from the pipelines: scripts/ci/notify.sh run for real against a webhook
 * listening in this process (what it posts is valid JSON with the expected fields, the secret
 * URL appears nowhere but in the request line, a refusal fails the script), and both pipelines
 * call it on failure and after each deployment, with the webhook from a secret.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CI_SCRIPT_DIR, GITLAB_CI, type Job, type Result, ROOT, run, type Workflow, gitlabJobs, needsOf } from './helpers.ts';

const SECRET_PATH = '/services/T0SECRET/B0SECRET/hunter2-webhook-token';
const PIPELINE_VARIABLES = [
  'CHAT_WEBHOOK_URL', 'NOTIFY_DRY_RUN', 'GIT_SHA', 'GITHUB_SHA', 'GITHUB_REPOSITORY', 'GITHUB_REF_NAME', 'GITHUB_ACTOR', 'GITHUB_RUN_ID', 'GITHUB_SERVER_URL', 'GITHUB_WORKFLOW',
  'CI_PROJECT_PATH', 'CI_COMMIT_REF_NAME', 'CI_COMMIT_SHA', 'GITLAB_USER_LOGIN', 'CI_PIPELINE_URL', 'CI_PIPELINE_NAME',
];
const hermetic = Object.fromEntries(PIPELINE_VARIABLES.map((name) => [name, undefined]));
const COMMIT = 'c0ffee'.repeat(6) + 'abcd';

interface Received {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

interface Payload {
  text: string;
  attachments: { color: string; fields: { title: string; value: string; short: boolean }[] }[];
}

let server: Server;
let webhook: string;
let received: Received[] = [];
/** The status the webhook answers with. */
let status = 200;

beforeAll(async () => {
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', contentType: request.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  received = [];
  status = 200;
});

const notify = (args: string[], env: Record<string, string | undefined>): Promise<Result> => run('bash', [join(CI_SCRIPT_DIR, 'notify.sh'), ...args], { env: { ...hermetic, ...env } });

const github = { GITHUB_REPOSITORY: 'acme/shipshape', GITHUB_REF_NAME: 'main', GITHUB_SHA: COMMIT, GITHUB_ACTOR: 'octocat', GITHUB_RUN_ID: '4242', GITHUB_SERVER_URL: 'https://github.com', GITHUB_WORKFLOW: 'CI' };
const gitlab = { CI_PROJECT_PATH: 'acme/shipshape', CI_COMMIT_REF_NAME: 'v1.4.0', CI_COMMIT_SHA: COMMIT, GITLAB_USER_LOGIN: 'tanuki', CI_PIPELINE_URL: 'https://gitlab.com/acme/shipshape/-/pipelines/77', CI_PIPELINE_NAME: 'release' };

function posted(): Payload {
  expect(received).toHaveLength(1);
  const [request] = received;
  expect(request?.method).toBe('POST');
  expect(request?.url).toBe(SECRET_PATH);
  expect(request?.contentType).toBe('application/json');
  expect(request?.body).not.toContain('hunter2');
  return JSON.parse(request?.body ?? '') as Payload;
}

function fields(payload: Payload): Record<string, string> {
  return Object.fromEntries((payload.attachments[0]?.fields ?? []).map((field) => [field.title, field.value]));
}

describe('notify.sh', () => {
  it('posts a failed GitHub run as JSON: what failed, where, and a link to the run; the webhook stays out of the log', async () => {
    const result = await notify(['failed'], { ...github, CHAT_WEBHOOK_URL: webhook });
    const payload = posted();

    expect(result.code, result.stderr).toBe(0);
    expect(payload.text).toBe(`:x: acme/shipshape: CI failed on main at ${COMMIT.slice(0, 12)}`);
    expect(payload.attachments[0]?.color).toBe('#d73a49');
    expect(fields(payload)).toEqual({ Repository: 'acme/shipshape', Ref: 'main', Commit: COMMIT, By: 'octocat', Pipeline: 'https://github.com/acme/shipshape/actions/runs/4242' });
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  });

  it('posts a GitLab deployment with its environment and pipeline', async () => {
    const result = await notify(['deployed', 'production'], { ...gitlab, CHAT_WEBHOOK_URL: webhook });
    const payload = posted();

    expect(result.code, result.stderr).toBe(0);
    expect(payload.text).toBe(`:rocket: acme/shipshape: ${COMMIT.slice(0, 12)} deployed to production`);
    expect(payload.attachments[0]?.color).toBe('#2ea44f');
    expect(fields(payload)).toEqual({ Repository: 'acme/shipshape', Ref: 'v1.4.0', Commit: COMMIT, By: 'tanuki', Environment: 'production', Pipeline: 'https://gitlab.com/acme/shipshape/-/pipelines/77' });
  });

  it('posts a promotion as waiting for the Argo CD sync, not as a deployment', async () => {
    const result = await notify(['promoted', 'production'], { ...github, CHAT_WEBHOOK_URL: webhook });
    const payload = posted();

    expect(result.code, result.stderr).toBe(0);
    expect(payload.text).toBe(`:hourglass: acme/shipshape: ${COMMIT.slice(0, 12)} promoted to production, waiting for an Argo CD sync`);
    expect(payload.text).not.toContain('deployed');
    expect(payload.attachments[0]?.color).toBe('#dbab09');
    expect(fields(payload).Environment).toBe('production');
  });

  it('keeps the JSON valid whatever a branch name holds', async () => {
    const ref = 'feat/"quoted" \\ back\nslash {{ and }} $(whoami)';
    const result = await notify(['failed'], { ...github, GITHUB_REF_NAME: ref, CHAT_WEBHOOK_URL: webhook });

    expect(result.code, result.stderr).toBe(0);
    expect(fields(posted()).Ref).toBe(ref);
  });

  it('posts nothing, and passes, without a webhook (a fork, a local run)', async () => {
    const result = await notify(['deployed', 'staging'], github);

    expect(result.code).toBe(0);
    expect(result.stderr).toContain('CHAT_WEBHOOK_URL is not set');
    expect(received).toEqual([]);
  });

  it('prints the payload it would post with NOTIFY_DRY_RUN=true', async () => {
    const result = await notify(['deployed', 'staging'], { ...github, NOTIFY_DRY_RUN: 'true', CHAT_WEBHOOK_URL: webhook });

    expect(result.code).toBe(0);
    expect(fields(JSON.parse(result.stdout) as Payload).Environment).toBe('staging');
    expect(received).toEqual([]);
    expect(result.stdout).not.toContain('hunter2');
  });

  it('fails when the webhook refuses, after retrying, without printing the webhook', async () => {
    status = 500;
    const result = await notify(['failed'], { ...github, CHAT_WEBHOOK_URL: webhook });

    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('the chat webhook refused the failed notification');
    expect(received.length).toBeGreaterThan(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  }, 60_000);

  it.each([[[]], [['deployed']], [['deployed', 'Prod Env']], [['promoted']], [['failed', 'staging']], [['shipped', 'staging']]])('refuses bad usage %j', async (args) => {
    const result = await notify(args, { ...github, CHAT_WEBHOOK_URL: webhook });

    expect(result.code).toBe(64);
    expect(received).toEqual([]);
  });
});

const workflow = (name: string) => parse(readFileSync(join(ROOT, '.github/workflows', name), 'utf8')) as Workflow;

/** The jobs whose steps call notify.sh, with the arguments of that call. */
function notifyJobs(jobs: Record<string, Job>): { name: string; job: Job; args: string; env: Record<string, string> }[] {
  return Object.entries(jobs).flatMap(([name, job]) =>
    (job.steps ?? []).flatMap((step) => {
      const match = /^bash scripts\/ci\/notify\.sh (.+)$/.exec((step.run ?? '').trim());
      return match?.[1] ? [{ name, job, args: match[1], env: step.env ?? {} }] : [];
    }),
  );
}

describe('GitHub Actions', () => {
  it.each(['ci.yml', 'release.yml', 'release-tag.yml'])('%s reports a failure of any job to the chat, with the webhook from a secret', (file) => {
    const jobs = workflow(file).jobs;
    const failure = notifyJobs(jobs).filter(({ args }) => args === 'failed');
    const notifying = new Set(notifyJobs(jobs).map(({ name }) => name));

    expect(failure).toHaveLength(1);
    const [{ job, env } = { job: {} as Job, env: {} as Record<string, string> }] = failure;
    expect(String(job.if)).toMatch(/\bfailure\(\)/);
    // Every job but the notifications: a failure anywhere is reported.
    expect(needsOf(job).sort()).toEqual(Object.keys(jobs).filter((name) => !notifying.has(name)).sort());
    expect(env.CHAT_WEBHOOK_URL).toBe('${{ secrets.CHAT_WEBHOOK_URL }}');
  });

  it('release.yml reports staging deployed (its smoke test passed) and production promoted (Argo CD reports its sync)', () => {
    const jobs = workflow('release.yml').jobs;
    const events = notifyJobs(jobs).filter(({ args }) => args !== 'failed');

    expect(events.map(({ args, job }) => [args, needsOf(job)])).toEqual([
      ['deployed staging', ['deploy-staging']],
      ['promoted production', ['deploy-production']],
    ]);
    for (const { env } of events) expect(env.CHAT_WEBHOOK_URL).toBe('${{ secrets.CHAT_WEBHOOK_URL }}');
  });

  it('release-tag.yml reports the production release promoted, never deployed: the pipeline does not see the sync', () => {
    const events = notifyJobs(workflow('release-tag.yml').jobs).filter(({ args }) => args !== 'failed');

    expect(events.map(({ args, job }) => [args, needsOf(job)])).toEqual([['promoted production', ['deploy-production']]]);
    for (const { env } of events) expect(env.CHAT_WEBHOOK_URL).toBe('${{ secrets.CHAT_WEBHOOK_URL }}');
  });
});

describe('GitLab CI', () => {
  const jobs = gitlabJobs(parse(readFileSync(GITLAB_CI, 'utf8')) as Record<string, unknown>);
  const calls = (name: string) => (jobs[name]?.script ?? []).filter((line) => line.startsWith('bash scripts/ci/notify.sh'));

  it('reports a failed pipeline from a job in .post that runs only on failure', () => {
    const failure = jobs['notify-failure'];

    expect(calls('notify-failure')).toEqual(['bash scripts/ci/notify.sh failed']);
    expect(failure?.stage).toBe('.post');
    expect((failure?.rules ?? []).map((rule) => rule.when)).toEqual(['on_failure', 'on_failure']);
  });

  it('reports the staging deployment after its job succeeded', () => {
    const job = jobs['notify-staging'];
    const deploy = jobs['deploy-staging'];

    expect(calls('notify-staging')).toEqual(['bash scripts/ci/notify.sh deployed staging']);
    expect(job?.needs).toEqual([{ job: 'deploy-staging', artifacts: false }]);
    expect(job?.stage).toBe(deploy?.stage);
    expect((job?.rules ?? []).map((rule) => rule.if)).toEqual((deploy?.rules ?? []).map((rule) => rule.if));
    expect((job?.rules ?? []).every((rule) => rule.when === undefined || rule.when === 'on_success')).toBe(true);
  });

  it('reports production promoted (Argo CD reports its sync) after whichever job promoted it, on the default branch or for a release tag', () => {
    const job = jobs['notify-production'];
    const deployers = [jobs['deploy-production'], jobs['release-production']];

    expect(calls('notify-production')).toEqual(['bash scripts/ci/notify.sh promoted production']);
    expect(job?.needs).toEqual([
      { job: 'deploy-production', artifacts: false, optional: true },
      { job: 'release-production', artifacts: false, optional: true },
    ]);
    for (const deploy of deployers) expect(job?.stage).toBe(deploy?.stage);
    expect((job?.rules ?? []).map((rule) => rule.if)).toEqual(deployers.flatMap((deploy) => (deploy?.rules ?? []).map((rule) => rule.if)));
    expect((job?.rules ?? []).every((rule) => rule.when === undefined || rule.when === 'on_success')).toBe(true);
  });

  it('never holds a webhook URL in the repository: it is a masked CI/CD variable', () => {
    const text = readFileSync(GITLAB_CI, 'utf8');

    expect(text).not.toMatch(/CHAT_WEBHOOK_URL:/);
    expect(text).not.toMatch(/hooks\.slack\.com|discord(app)?\.com\/api\/webhooks|webhook\.office\.com/);
  });
});
