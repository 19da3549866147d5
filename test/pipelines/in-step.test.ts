import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.ts';
import { CI_SCRIPT_DIR, GITLAB_CI, type GitlabJob, gitlabJobs, readYaml, WORKFLOW_DIR } from './helpers.ts';

/**
 * The three lists of checks stay in step: every suite `.ci/run` runs is also a job of the
 * GitHub CI workflow and of the GitLab pipeline, through the shared script that runs the same
 * command, and a merge to the default branch deploys only after all of them.
 */
const SHARED_SCRIPT_OF: Record<string, string> = {
  'npm test': 'bash scripts/ci/unit-tests.sh',
  'bash scripts/ci/lint.sh': 'bash scripts/ci/lint.sh',
  // The image build runs `npm run build` in its build stage.
  'npm run build': 'bash scripts/ci/build-image.sh',
  'bash scripts/ci/postgres-tests.sh': 'bash scripts/ci/postgres-tests.sh',
  'bash scripts/ci/conformance.sh': 'bash scripts/ci/conformance.sh',
  'bash scripts/ci/scale-tests.sh': 'bash scripts/ci/scale-tests.sh',
  'bash scripts/ci/bench-gate.sh': 'bash scripts/ci/bench-gate.sh',
  'bash scripts/ci/browser-tests.sh sqlite': 'bash scripts/ci/browser-tests.sh sqlite',
  'bash scripts/ci/browser-tests.sh postgres': 'bash scripts/ci/browser-tests.sh postgres',
  'npm run test:deploy': 'bash scripts/ci/deploy-checks.sh',
  'npm run test:pipelines': 'bash scripts/ci/pipeline-checks.sh',
  'npm run test:infra': 'bash scripts/ci/infra-checks.sh',
  'npm run test:cluster': 'bash scripts/ci/cluster-tests.sh',
  'npm run test:container': 'bash scripts/ci/container-tests.sh',
};

/** The command of every `suite "<name>" <command>` line of a .ci/run text. */
export function suitesOf(ciRun: string): string[] {
  return [...ciRun.matchAll(/^suite "[^"]+" (.+)$/gm)].map((match) => match[1]!.trim());
}

/** Suites with no shared script, or whose script no job of a pipeline runs. */
export function outOfStep(suites: readonly string[], githubLines: readonly string[], gitlabLines: readonly string[]): string[] {
  const problems: string[] = [];
  for (const suite of suites) {
    const script = SHARED_SCRIPT_OF[suite];
    if (script === undefined) {
      problems.push(`${suite}: no shared script; add one and a job to both pipelines`);
      continue;
    }
    if (!githubLines.some((line) => line.startsWith(script))) problems.push(`${suite}: no GitHub CI job runs ${script}`);
    if (!gitlabLines.some((line) => line.startsWith(script))) problems.push(`${suite}: no GitLab job runs ${script}`);
  }
  return problems;
}

interface Workflow {
  jobs: Record<string, { steps?: { run?: string }[] }>;
}

const suites = suitesOf(readFileSync(join(ROOT, '.ci/run'), 'utf8'));
const github = readYaml<Workflow>(join(WORKFLOW_DIR, 'ci.yml'));
const githubLines = Object.values(github.jobs).flatMap((job) => (job.steps ?? []).flatMap((step) => (step.run ?? '').split('\n').map((line) => line.trim())));
const gitlab = gitlabJobs(readYaml<Record<string, unknown>>(GITLAB_CI));
const gitlabLines = Object.values(gitlab).flatMap((job: GitlabJob) => (job.script ?? []).map((line) => String(line).trim()));

describe('.ci/run and the hosted pipelines', () => {
  it('reads every suite of .ci/run', () => {
    expect(suites.length).toBeGreaterThanOrEqual(14);
    expect(suites).toContain('npm test');
  });

  it('gate on every suite .ci/run runs, through the same shared scripts', () => {
    expect(outOfStep(suites, githubLines, gitlabLines)).toEqual([]);
  });

  it('run the same command in the shared script as .ci/run does', () => {
    for (const [suite, script] of Object.entries(SHARED_SCRIPT_OF)) {
      if (!suite.startsWith('npm run test:')) continue;
      const file = join(CI_SCRIPT_DIR, script.replace('bash scripts/ci/', '').split(' ')[0]!);
      const text = readFileSync(file, 'utf8');
      const name = suite.replace('npm run ', '');
      const runsIt = text.includes(suite) || text.includes(`vitest.${name.replace('test:', '')}.config.ts`);
      expect(runsIt, `${file} runs ${suite}`).toBe(true);
    }
  });

  it('would catch a suite added to .ci/run alone, or dropped from one pipeline', () => {
    const withNewSuite = suitesOf('suite "unit" npm test\nsuite "new" npm run test:new\n');

    expect(outOfStep(withNewSuite, githubLines, gitlabLines)).toEqual(['npm run test:new: no shared script; add one and a job to both pipelines']);
    expect(outOfStep(['npm run test:deploy'], githubLines.filter((line) => !line.includes('deploy-checks')), gitlabLines)).toEqual([
      'npm run test:deploy: no GitHub CI job runs bash scripts/ci/deploy-checks.sh',
    ]);
  });
});
