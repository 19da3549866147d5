/**
 * Argo CD notifications (deploy/platform/bootstrap/argocd-values.yaml) offline: the webhook
 * templates are Go text/template with sprig, as in Argo CD's notifications engine; helm (4,
 * pinned) runs the same engine, so each template's body is rendered by helm's `tpl` against
 * sample Applications (synced, failed with a message full of JSON metacharacters, failed by
 * production's PostSync smoke test, Degraded by an aborted canary) and must parse as JSON with the fields the chat shows. Around them: every
 * trigger sends a template that exists, every subscription on the Applications names a trigger
 * and the notifier that exist, and the notifier's URL is a key of the secret the ExternalSecret
 * fills, so no webhook is committed. The trigger conditions (expr) and the delivery itself need
 * a live Argo CD.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { find, type KubeObject, kustomize, OVERLAYS } from '../helpers/manifests.ts';
import { ROOT } from '../helpers/process.ts';

interface Notifications {
  enabled: boolean;
  argocdUrl: string;
  secret: { create: boolean };
  notifiers: Record<string, string>;
  triggers: Record<string, string>;
  templates: Record<string, string>;
}

interface Payload {
  text: string;
  attachments: { color: string; fields: { title: string; value: string; short: boolean }[] }[];
}

const values = parse(readFileSync(join(ROOT, 'deploy/platform/bootstrap/argocd-values.yaml'), 'utf8')) as { notifications: Notifications };
const notifications = values.notifications;
const helm = execFileSync('bash', [join(ROOT, 'scripts/ensure-helm.sh')], { encoding: 'utf8' }).trim();
const ARGOCD_URL = 'https://argocd.example.com';
const REVISION = '0123456789abcdef0123456789abcdef01234567';

/** The webhook bodies, by template name (template.app-sync-failed -> app-sync-failed). */
function bodies(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(notifications.templates).map(([key, text]) => {
      const template = parse(text) as { webhook: { chat: { method: string; body: string } } };
      expect(template.webhook.chat.method, key).toBe('POST');
      return [key.replace(/^template\./, ''), template.webhook.chat.body];
    }),
  );
}

/** An Application as Argo CD hands it to the templates (status filled in), after a sync. */
function application(status: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name: 'shipshape-production', namespace: 'argocd' },
    spec: { project: 'shipshape', destination: { server: 'https://kubernetes.default.svc', namespace: 'shipshape-production' } },
    status,
  };
}

const synced = application({
  sync: { status: 'Synced', revision: REVISION },
  health: { status: 'Progressing' },
  operationState: { phase: 'Succeeded', message: 'successfully synced (all tasks run)', syncResult: { revision: REVISION } },
});
const failedMessage = 'one or more objects failed to apply, reason: admission webhook "validate.kyverno.svc" denied the request:\n\tpolicy {"image": "x"} \\ not allowed';
const failed = application({
  sync: { status: 'OutOfSync', revision: REVISION },
  health: { status: 'Healthy' },
  operationState: { phase: 'Failed', message: failedMessage },
});
// Production's PostSync smoke test failed: the sync applied everything, then its hook Job failed.
const smokeFailed = application({
  sync: { status: 'Synced', revision: REVISION },
  health: { status: 'Healthy' },
  operationState: {
    phase: 'Failed',
    message: 'one or more synchronization tasks completed unsuccessfully',
    syncResult: {
      revision: REVISION,
      resources: [
        { group: 'batch', version: 'v1', kind: 'Job', namespace: 'shipshape-production', name: 'shipshape-migrate', status: 'Synced', hookType: 'Sync', hookPhase: 'Succeeded', message: 'Reached expected number of succeeded pods', syncPhase: 'Sync' },
        { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout', namespace: 'shipshape-production', name: 'shipshape', status: 'Synced', message: 'rollout.argoproj.io/shipshape configured', syncPhase: 'Sync' },
        { group: 'batch', version: 'v1', kind: 'Job', namespace: 'shipshape-production', name: 'shipshape-smoke', status: 'Synced', hookType: 'PostSync', hookPhase: 'Failed', message: 'Job has reached the specified backoff limit', syncPhase: 'PostSync' },
      ],
    },
  },
});
const degraded = application({
  sync: { status: 'Synced', revision: REVISION },
  // Argo CD gives no message at the application level for a Rollout's abort: the resources say it.
  health: { status: 'Degraded' },
  resources: [
    { kind: 'Service', name: 'shipshape' },
    { kind: 'Rollout', name: 'shipshape', health: { status: 'Degraded', message: 'RolloutAborted: Rollout aborted update to revision 7' } },
    { kind: 'HorizontalPodAutoscaler', name: 'shipshape', health: { status: 'Healthy' } },
  ],
});

const scratch = mkdtempSync(join(tmpdir(), 'shipshape-notifications-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Renders every template against one Application with helm's `tpl`, in a throw-away chart whose
 * only template hands each body and the notification context ({ app, context }) to it.
 */
async function render(app: Record<string, unknown>): Promise<Record<string, string>> {
  const chart = join(scratch, `render-${Math.random().toString(36).slice(2)}`);
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: render\nversion: 0.1.0\n');
  writeFileSync(
    join(chart, 'templates', 'bodies.yaml'),
    '{{- range $name, $body := .Values.bodies }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ $name }}\ndata:\n  body: {{ tpl $body $.Values.notification | toJson }}\n{{- end }}\n',
  );
  const valuesFile = join(chart, 'values.json');
  writeFileSync(valuesFile, JSON.stringify({ bodies: bodies(), notification: { app, context: { argocdUrl: ARGOCD_URL } } }));
  const { stdout } = await promisify(execFile)(helm, ['template', 'render', chart, '--values', valuesFile], { maxBuffer: 8 * 1024 * 1024 });
  return Object.fromEntries(
    parseAllDocuments(stdout)
      .map((document) => document.toJS() as { metadata: { name: string }; data: { body: string } } | null)
      .filter((object) => object !== null)
      .map((object) => [object.metadata.name, object.data.body]),
  );
}

function fields(payload: Payload): Record<string, string> {
  return Object.fromEntries((payload.attachments[0]?.fields ?? []).map((field) => [field.title, field.value]));
}

describe('the notification templates, rendered (helm tpl: Go templates with sprig)', () => {
  let rendered: Record<string, Record<string, string>>;

  beforeAll(async () => {
    rendered = { synced: await render(synced), failed: await render(failed), smokeFailed: await render(smokeFailed), degraded: await render(degraded) };
  });

  const payload = (app: string, template: string): Payload => JSON.parse(rendered[app]?.[template] ?? '') as Payload;

  it('produce valid JSON for every template and every application state', () => {
    expect(Object.keys(bodies()).sort()).toEqual(['app-health-degraded', 'app-sync-failed', 'app-sync-succeeded']);
    for (const app of Object.keys(rendered)) {
      for (const template of Object.keys(bodies())) expect(() => payload(app, template), `${template} for the ${app} application`).not.toThrow();
    }
  });

  it('a sync that succeeded: which application, which revision, and a link', () => {
    const message = payload('synced', 'app-sync-succeeded');

    expect(message.text).toBe(':white_check_mark: shipshape-production synced 0123456789ab');
    expect(fields(message)).toEqual({ Application: 'shipshape-production', Namespace: 'shipshape-production', Revision: REVISION, Health: 'Progressing', 'Argo CD': `${ARGOCD_URL}/applications/shipshape-production` });
  });

  it('a sync that failed: the phase and Argo CD\'s message, quotes, newlines and backslashes intact', () => {
    const message = payload('failed', 'app-sync-failed');

    expect(message.text).toBe(':x: shipshape-production: sync failed at 0123456789ab');
    expect(fields(message)).toMatchObject({ Application: 'shipshape-production', Phase: 'Failed', Message: failedMessage, Revision: REVISION, Failed: '' });
  });

  it('a sync whose PostSync smoke test failed: names the hook Job and its message, not the hooks and objects that passed', () => {
    const message = payload('smokeFailed', 'app-sync-failed');

    expect(message.text).toBe(':x: shipshape-production: sync failed at 0123456789ab');
    expect(fields(message)).toMatchObject({ Phase: 'Failed', Failed: 'Job/shipshape-smoke (PostSync hook): Job has reached the specified backoff limit' });
  });

  it('a Degraded application: names the Degraded resources (an aborted canary shows as its Rollout)', () => {
    const message = payload('degraded', 'app-health-degraded');

    expect(message.text).toBe(':warning: shipshape-production is Degraded');
    expect(fields(message)).toMatchObject({ Degraded: 'Rollout/shipshape', Message: '', 'Argo CD': `${ARGOCD_URL}/applications/shipshape-production` });
  });

  it('use only what Argo CD\'s engine has too (Go templates and sprig, no helm-only function)', () => {
    for (const [name, body] of Object.entries(bodies())) expect(body, name).not.toMatch(/\b(include|tpl|toYaml|fromYaml|required|lookup)\b/);
  });
});

describe('triggers, subscriptions and the webhook', () => {
  const triggers = Object.fromEntries(Object.entries(notifications.triggers).map(([key, text]) => [key.replace(/^trigger\./, ''), parse(text) as { send: string[]; when: string }[]]));

  it('define the three triggers, each sending a template that exists', () => {
    expect(Object.keys(triggers).sort()).toEqual(['on-health-degraded', 'on-sync-failed', 'on-sync-succeeded']);
    for (const [name, conditions] of Object.entries(triggers)) {
      for (const condition of conditions) for (const template of condition.send) expect(Object.keys(bodies()), `${name} sends ${template}`).toContain(template);
    }
    expect(triggers['on-sync-failed']?.[0]?.when).toMatch(/phase in \['Error', 'Failed'\]/);
    expect(triggers['on-health-degraded']?.[0]?.when).toBe("app.status.health.status == 'Degraded'");
  });

  it('post to the chat webhook whose URL is a key of the ExternalSecret-filled secret, never a literal', () => {
    const notifier = parse(notifications.notifiers['service.webhook.chat'] ?? '') as { url: string };
    const externalSecret = find(kustomize('deploy/platform/config'), 'ExternalSecret', 'argocd-notifications-secret');
    const spec = externalSecret.spec as { target: { name: string }; data: { secretKey: string }[] };

    expect(notifications.secret.create).toBe(false);
    expect(externalSecret.metadata.namespace).toBe('argocd');
    expect(spec.target.name).toBe('argocd-notifications-secret');
    expect(notifier.url).toMatch(/^\$[\w-]+$/);
    expect(spec.data.map((entry) => entry.secretKey)).toContain(notifier.url.slice(1));
  });

  function subscriptions(object: KubeObject): { trigger: string; service: string }[] {
    return Object.keys(object.metadata.annotations ?? {})
      .map((key) => /^notifications\.argoproj\.io\/subscribe\.([\w-]+)\.([\w-]+)$/.exec(key))
      .filter((match) => match !== null)
      .map((match) => ({ trigger: match[1] ?? '', service: match[2] ?? '' }));
  }

  it.each(OVERLAYS)('subscribe shipshape-%s to every trigger', (environment) => {
    const app = find(kustomize('deploy/argocd'), 'Application', `shipshape-${environment}`);

    expect(subscriptions(app).map(({ trigger }) => trigger).sort()).toEqual(Object.keys(triggers).sort());
  });

  it.each(OVERLAYS)('subscribe every %s platform application to failed syncs and degraded health', (environment) => {
    const apps = kustomize(`deploy/platform/envs/${environment}`).filter((object) => object.kind === 'Application');

    expect(apps.length).toBeGreaterThan(5);
    for (const app of apps) expect(subscriptions(app).map(({ trigger }) => trigger).sort(), app.metadata.name).toEqual(['on-health-degraded', 'on-sync-failed']);
  });

  it('name only triggers and a notifier that exist', () => {
    const apps = [...kustomize('deploy/argocd'), ...kustomize('deploy/platform/envs/production')].filter((object) => object.kind === 'Application');
    const services = Object.keys(notifications.notifiers).map((key) => key.replace(/^service\.webhook\./, ''));

    for (const { trigger, service } of apps.flatMap(subscriptions)) {
      expect(Object.keys(triggers)).toContain(trigger);
      expect(services).toContain(service);
    }
  });
});
