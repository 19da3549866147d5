/**
 * Offline checks of what watches the app: the Grafana dashboard queries only series the app
 * really exports (read from a real app's /metrics) or the rules file records, every alert has
 * a runbook that matches it, and the compose `observability` profile wires Prometheus and
 * Grafana to files that exist in the repository.
 */
import { existsSync, globSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { OtlpReceiver } from '../helpers/otlp-receiver.ts';
import { ROOT } from '../helpers/process.ts';

const DASHBOARD_PATH = 'deploy/monitoring/grafana/dashboards/shipshape.json';
const RULES_PATH = 'deploy/monitoring/prometheus/rules/shipshape.rules.yml';
const RUNBOOKS_DIR = 'docs/runbooks';
const DATASOURCE = '${datasource}';

/** Exported only when the app runs on PostgreSQL (the tests may run on SQLite), with their labels. */
const POSTGRES_ONLY: Record<string, string[]> = { db_pool_connections: ['state'] };
/** Series Prometheus writes for every target itself. */
const SCRAPE_SERIES = ['up'];
/** Labels Prometheus adds to every series: the job, the target, and in Kubernetes its namespace and pod. */
const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod'];
const RUNBOOK_SECTIONS = ['Meaning', 'Impact', 'Confirm', 'Mitigate', 'Escalate'];

interface Target {
  expr: string;
  legendFormat?: string;
  refId: string;
  datasource?: { type: string; uid: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults: { unit?: string } };
  targets?: Target[];
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  definition?: string;
  datasource?: { type: string; uid: string };
  includeAll?: boolean;
  allValue?: string;
}

interface Annotation {
  name: string;
  datasource: { type: string; uid: string };
  enable: boolean;
  expr?: string;
  titleFormat?: string;
}

interface Dashboard {
  id: unknown;
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Annotation[] };
}

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  annotations?: Record<string, string>;
}

const dashboard = JSON.parse(readFileSync(join(ROOT, DASHBOARD_PATH), 'utf8')) as Dashboard;
const rules = (parse(readFileSync(join(ROOT, RULES_PATH), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
const recorded = new Set(rules.flatMap((rule) => (rule.record === undefined ? [] : [rule.record])));
const alerts = rules.filter((rule): rule is Rule & { alert: string } => rule.alert !== undefined);

const panels = dashboard.panels.filter((panel) => panel.type !== 'row');
const queries = [
  ...panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr }))),
  ...dashboard.annotations.list.flatMap((annotation) => (annotation.expr === undefined ? [] : [{ where: `annotation "${annotation.name}"`, expr: annotation.expr }])),
];

interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

interface ParsedQuery {
  selectors: Selector[];
  /** Labels named in by/without/on/ignoring/group_* clauses. */
  groupingLabels: string[];
}

const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g;
const TOKEN = /"(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*|\{[^}]*\}|[a-zA-Z_:][\w:]*/g;
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The vector selectors of a PromQL expression: just enough of a parser for the dashboard's
 * queries (metric names, their matchers, and the labels queries group by). Durations in
 * brackets and grouping clauses are cut out first, then each name not followed by `(` (a
 * function or an aggregation) is a metric, with the `{...}` right after it as its matchers.
 */
function parsePromQL(expr: string): ParsedQuery {
  const groupingLabels = [...expr.matchAll(GROUPING)].flatMap((match) => splitLabels(match[1] ?? ''));
  const code = expr.replace(GROUPING, ' ').replace(/\[[^\]]*\]/g, ' ');
  const tokens = [...code.matchAll(TOKEN)].map((match) => ({ text: match[0], end: (match.index ?? 0) + match[0].length }));
  const selectors: Selector[] = [];
  tokens.forEach((token, index) => {
    const next = tokens[index + 1];
    if (!/^[a-zA-Z_:]/.test(token.text) || KEYWORDS.has(token.text)) return;
    if (code.slice(token.end).trimStart().startsWith('(')) return;
    const braces = next?.text.startsWith('{') && code.slice(token.end, next.end - next.text.length).trim() === '' ? next.text : '{}';
    selectors.push({ metric: token.text, matchers: parseMatchers(braces) });
  });
  if (tokens.some((token, index) => token.text.startsWith('{') && !/^[a-zA-Z_:]/.test(tokens[index - 1]?.text ?? ''))) {
    throw new Error(`a selector without a metric name in: ${expr}`);
  }
  return { selectors, groupingLabels };
}

function splitLabels(list: string): string[] {
  return list.split(',').map((label) => label.trim()).filter((label) => label !== '');
}

function parseMatchers(braces: string): Selector['matchers'] {
  return [...braces.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((match) => ({
    label: match[1] ?? '',
    op: match[2] ?? '',
    value: match[3] ?? '',
  }));
}

/** The metric families a /metrics page declares (`# TYPE name type`) and the label names its samples carry. */
function parseExposition(text: string): { types: Map<string, string>; labels: Set<string> } {
  const types = new Map<string, string>();
  const labels = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) types.set(type[1], type[2]);
    const sample = /^[a-zA-Z_:][\w:]*\{([^}]*)\}/.exec(line);
    for (const match of sample?.[1]?.matchAll(/([a-zA-Z_]\w*)="/g) ?? []) if (match[1]) labels.add(match[1]);
  }
  return { types, labels };
}

/** The series names a family produces: a histogram is only queryable as _bucket, _sum and _count. */
function seriesNames(name: string, type: string): string[] {
  if (type === 'histogram') return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
  if (type === 'summary') return [name, `${name}_sum`, `${name}_count`];
  return [name];
}

describe('the Grafana dashboard', () => {
  let testApp: TestApp;
  let exported: Set<string>;
  let exportedLabels: Set<string>;

  beforeAll(async () => {
    testApp = await createTestApp();
    // Traffic first, so the request histogram has samples (and their labels) to show.
    for (const url of ['/api/articles', '/api/tags', '/no-such-page', '/healthz']) await testApp.app.inject({ method: 'GET', url });
    const response = await testApp.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    const { types, labels } = parseExposition(response.body);
    exported = new Set([...types].flatMap(([name, type]) => seriesNames(name, type)));
    exportedLabels = labels;
  });
  afterAll(() => testApp.close());

  it('is provisionable as is: fixed uid and title, no database id, a current schema', () => {
    expect(dashboard).toMatchObject({ id: null, uid: 'shipshape-overview', title: 'Shipshape' });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
  });

  it('picks its Prometheus through a datasource variable, and the namespace from shipshape_build_info, "All" matching series without one', () => {
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    const namespace = variables.get('namespace');
    const definition = namespace?.definition ?? '';
    const query = typeof namespace?.query === 'string' ? namespace.query : namespace?.query.query;

    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(namespace).toMatchObject({ type: 'query', includeAll: true, allValue: '.*', datasource: { type: 'prometheus', uid: DATASOURCE } });
    expect(query).toBe(definition);
    expect(definition).toMatch(/^label_values\(shipshape_build_info\{job="shipshape"\}, namespace\)$/);
    expect(exported.has('shipshape_build_info')).toBe(true);
  });

  it('marks deploys: an annotation on the appearance of a new git_sha, titled with it', () => {
    const deploys = dashboard.annotations.list.filter((annotation) => annotation.expr?.includes('shipshape_build_info'));

    expect(deploys).toHaveLength(1);
    const [annotation] = deploys;
    expect(annotation).toMatchObject({ enable: true, datasource: { type: 'prometheus', uid: DATASOURCE } });
    expect(annotation?.expr).toMatch(/count by \([^)]*git_sha[^)]*\) \(shipshape_build_info\{[^}]*\}\) unless count by \([^)]*git_sha[^)]*\) \(shipshape_build_info\{[^}]*\} offset \d+m\)/);
    expect(annotation?.titleFormat).toContain('{{git_sha}}');
  });

  it('queries only series the app exports, the rules record, or Prometheus adds', () => {
    const known = new Set([...exported, ...recorded, ...Object.keys(POSTGRES_ONLY), ...SCRAPE_SERIES]);
    const unknown = queries.flatMap(({ where, expr }) =>
      parsePromQL(expr).selectors.filter((selector) => !known.has(selector.metric)).map((selector) => `${where}: ${selector.metric}`),
    );

    expect(queries.length).toBeGreaterThan(20);
    expect(unknown).toEqual([]);
  });

  it('scopes every selector to job="shipshape" and the selected namespace', () => {
    const unscoped = queries.flatMap(({ where, expr }) => {
      const { selectors } = parsePromQL(expr);
      if (selectors.length === 0) return [`${where}: no selector`];
      return selectors
        .filter((selector) => {
          const matchers = selector.matchers.map((matcher) => `${matcher.label}${matcher.op}"${matcher.value}"`);
          return !matchers.includes('job="shipshape"') || !matchers.includes('namespace=~"$namespace"');
        })
        .map((selector) => `${where}: ${selector.metric}`);
    });

    expect(unscoped).toEqual([]);
  });

  it('filters and groups only by labels the series carry', () => {
    const known = new Set([...exportedLabels, ...TARGET_LABELS, ...Object.values(POSTGRES_ONLY).flat()]);
    const unknown = queries.flatMap(({ where, expr }) => {
      const { selectors, groupingLabels } = parsePromQL(expr);
      const used = [...selectors.flatMap((selector) => selector.matchers.map((matcher) => matcher.label)), ...groupingLabels];
      return used.filter((label) => !known.has(label)).map((label) => `${where}: ${label}`);
    });

    expect(exportedLabels).toContain('status_code');
    expect(unknown).toEqual([]);
  });

  it('covers the signals Shipshape is run by: traffic, errors, latency, SLO, saturation, database, readiness, versions', () => {
    const used = new Set(queries.flatMap(({ expr }) => parsePromQL(expr).selectors.map((selector) => selector.metric)));

    for (const metric of [
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_bucket',
      'shipshape:http_error_ratio:rate5m',
      'shipshape:http_request_duration_seconds:p99_5m',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'db_pool_connections',
      'db_query_duration_seconds_bucket',
      'db_query_errors_total',
      'shipshape_ready',
      'shipshape_build_info',
    ]) {
      expect(used, metric).toContain(metric);
    }
  });

  it('gives every panel the datasource variable, every query a legend, and every time series a unit', () => {
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: DATASOURCE });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual({ type: 'prometheus', uid: DATASOURCE });
        expect(target.legendFormat ?? '', `${panel.title} ${target.refId}`).toMatch(/\S/);
      }
      if (panel.type === 'timeseries') expect(panel.fieldConfig?.defaults.unit ?? '', panel.title).toMatch(/\S/);
    }
    expect(new Set(panels.map((panel) => panel.type))).toEqual(new Set(['stat', 'timeseries']));
  });

  it('lays its panels out on the 24-column grid, without overlaps, with unique ids and titles', () => {
    const all = dashboard.panels;
    const cells = new Map<string, string>();
    for (const { title, gridPos } of all) {
      expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
      for (let x = gridPos.x; x < gridPos.x + gridPos.w; x++) {
        for (let y = gridPos.y; y < gridPos.y + gridPos.h; y++) {
          expect(cells.get(`${x},${y}`), `${title} overlaps`).toBeUndefined();
          cells.set(`${x},${y}`, title);
        }
      }
    }
    expect(new Set(all.map((panel) => panel.id)).size).toBe(all.length);
    expect(new Set(panels.map((panel) => panel.title)).size).toBe(panels.length);
  });

  it('has a parser that finds metrics, matchers and grouping labels, and rejects what it cannot read', () => {
    const parsed = parsePromQL('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job="x", route!~"/a|/b"}[$__rate_interval]))) / on (route) b offset 5m > 1e3');

    expect(parsed.selectors).toEqual([
      { metric: 'a_bucket', matchers: [{ label: 'job', op: '=', value: 'x' }, { label: 'route', op: '!~', value: '/a|/b' }] },
      { metric: 'b', matchers: [] },
    ]);
    expect(parsed.groupingLabels).toEqual(['le', 'route', 'route']);
    expect(() => parsePromQL('{__name__="up"}')).toThrow(/without a metric name/);
  });
});

/** The runbook's `## ` sections, in order, with their text. */
function sections(markdown: string): { title: string; body: string }[] {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((section) => {
      const [title = '', ...body] = section.split('\n');
      return { title: title.trim(), body: body.join('\n').trim() };
    });
}

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

describe('runbooks', () => {
  const panelTitles = new Set(panels.map((panel) => panel.title));

  it('exist for an alert file that has alerts', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(7);
  });

  describe.each(alerts.map((alert) => [alert.alert, alert] as const))('%s', (name, alert) => {
    const path = join(ROOT, RUNBOOKS_DIR, `${name}.md`);
    const markdown = existsSync(path) ? readFileSync(path, 'utf8') : '';

    it('is linked from the alert and lives under docs/runbooks', () => {
      expect(alert.annotations?.runbook_url).toMatch(new RegExp(`/docs/runbooks/${name}\\.md$`));
      expect(existsSync(path), `${RUNBOOKS_DIR}/${name}.md`).toBe(true);
    });

    it('says what it means, the impact, how to confirm and mitigate it, and when to escalate, each with content', () => {
      const found = sections(markdown);

      expect(markdown.split('\n')[0]).toBe(`# ${name}`);
      expect(found.map((section) => section.title)).toEqual(RUNBOOK_SECTIONS);
      for (const section of found) expect(section.body.length, section.title).toBeGreaterThan(150);
    });

    it('quotes the alert expression as the rules file has it', () => {
      const quoted = /```promql\n([\s\S]*?)```/.exec(markdown)?.[1] ?? '';

      expect(squash(quoted)).toBe(squash(alert.expr));
    });

    it('confirms with concrete commands and queries, and names only dashboard panels that exist', () => {
      const confirm = sections(markdown).find((section) => section.title === 'Confirm')?.body ?? '';
      const named = [...markdown.matchAll(/\*\*Shipshape › ([^*]+)\*\*/g)].map((match) => match[1] ?? '');

      expect(confirm).toMatch(/kubectl -n shipshape-production /);
      expect(confirm).toMatch(/```promql/);
      expect(named.length).toBeGreaterThan(0);
      expect(named.filter((title) => !panelTitles.has(title))).toEqual([]);
    });
  });

  it('are listed in the README, with no runbook for an alert that does not exist', () => {
    const readme = readFileSync(join(ROOT, RUNBOOKS_DIR, 'README.md'), 'utf8');
    const files = readdirSync(join(ROOT, RUNBOOKS_DIR)).filter((file) => file !== 'README.md');

    expect(files.sort()).toEqual(alerts.map((alert) => `${alert.alert}.md`).sort());
    for (const alert of alerts) expect(readme).toContain(`](${alert.alert}.md)`);
  });
});

interface ComposeService {
  image?: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
}

interface Mount {
  source: string;
  target: string;
  mode: string | undefined;
}

/** `source:target[:mode]` volume entries; a source starting with `.` is a bind mount relative to compose.yml. */
function mounts(service: ComposeService | undefined): Mount[] {
  return (service?.volumes ?? []).map((entry) => {
    const [source = '', target = '', mode] = entry.split(':');
    return { source, target, mode };
  });
}

/** The repository path a container path comes from, through the service's bind mounts. */
function hostPath(service: ComposeService | undefined, containerPath: string): string | undefined {
  const mount = mounts(service)
    .filter((candidate) => candidate.source.startsWith('.'))
    .find((candidate) => containerPath === candidate.target || containerPath.startsWith(`${candidate.target}/`));
  return mount && join(ROOT, mount.source, containerPath.slice(mount.target.length));
}

describe('the compose observability profile', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };
  const { prometheus, grafana, app } = compose.services;
  const prometheusConfig = parse(readFileSync(join(ROOT, 'deploy/monitoring/prometheus/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };

  const { tempo, loki, alloy } = compose.services;
  const observability = { prometheus, grafana, tempo, loki, alloy };

  it('adds Prometheus, Grafana, Tempo, Loki and Alloy, pinned, under the observability profile only', () => {
    expect(prometheus?.image).toMatch(/^prom\/prometheus:v\d+\.\d+\.\d+$/);
    expect(grafana?.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(tempo?.image).toMatch(/^grafana\/tempo:\d+\.\d+\.\d+$/);
    expect(loki?.image).toMatch(/^grafana\/loki:\d+\.\d+\.\d+$/);
    expect(alloy?.image).toMatch(/^grafana\/alloy:v\d+\.\d+\.\d+$/);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.profiles, name).toEqual(name in observability ? ['observability'] : undefined);
    }
  });

  it('bind-mounts files and directories that exist in the repository, read-only, and keeps state on named volumes', () => {
    for (const [name, service] of Object.entries(observability)) {
      const binds = mounts(service).filter((mount) => mount.source.startsWith('.'));
      const hostPaths = mounts(service).filter((mount) => mount.source.startsWith('/'));
      const named = mounts(service).filter((mount) => !/^[./]/.test(mount.source));

      expect(binds.length, name).toBeGreaterThanOrEqual(1);
      for (const mount of binds) {
        expect(existsSync(join(ROOT, mount.source)), `${name}: ${mount.source}`).toBe(true);
        expect(mount.mode, `${name}: ${mount.source}`).toBe('ro');
      }
      // Only Alloy reaches outside the repository: the Docker socket, read-only, to read the app's logs.
      expect(hostPaths, name).toEqual(name === 'alloy' ? [{ source: '/var/run/docker.sock', target: '/var/run/docker.sock', mode: 'ro' }] : []);
      for (const mount of named) expect(Object.keys(compose.volumes), `${name}: ${mount.source}`).toContain(mount.source);
    }
  });

  it('runs Prometheus on the mounted config, evaluating the repository rules file, scraping the app as job "shipshape"', () => {
    const configFlag = prometheus?.command?.find((argument) => argument.startsWith('--config.file='))?.slice('--config.file='.length) ?? '';
    const ruleFiles = prometheusConfig.rule_files.flatMap((pattern) => {
      const host = hostPath(prometheus, pattern);
      return host === undefined ? [] : globSync(host).map((file) => relative(ROOT, file));
    });
    const job = prometheusConfig.scrape_configs.find((scrape) => scrape.job_name === 'shipshape');

    expect(hostPath(prometheus, configFlag)).toBe(join(ROOT, 'deploy/monitoring/prometheus/prometheus.yml'));
    expect(ruleFiles).toContain(RULES_PATH);
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(app?.environment?.PORT).toBe('3000');
    expect(job?.static_configs.flatMap((config) => config.targets)).toEqual([`app:${app?.environment?.PORT ?? ''}`]);
    expect(app?.environment?.METRICS_PORT).toBeUndefined();
  });

  it('provisions Grafana with that Prometheus as the default data source and this dashboard', () => {
    const provisioning = hostPath(grafana, '/etc/grafana/provisioning') ?? '';
    const datasources = parse(readFileSync(join(provisioning, 'datasources/prometheus.yml'), 'utf8')) as {
      datasources: { type: string; uid: string; url: string; isDefault: boolean }[];
    };
    const providers = parse(readFileSync(join(provisioning, 'dashboards/shipshape.yml'), 'utf8')) as {
      providers: { type: string; options: { path: string } }[];
    };
    const prometheusPort = prometheus?.ports?.[0]?.split(':').at(-1);
    const dashboards = providers.providers.map((provider) => hostPath(grafana, provider.options.path));

    expect(statSync(provisioning).isDirectory()).toBe(true);
    expect(datasources.datasources).toEqual([expect.objectContaining({ type: 'prometheus', uid: 'prometheus', url: `http://prometheus:${prometheusPort ?? ''}`, isDefault: true })]);
    expect(dashboards).toEqual([join(ROOT, 'deploy/monitoring/grafana/dashboards')]);
    expect(existsSync(join(dashboards[0] ?? '', 'shipshape.json'))).toBe(true);
  });

  it('publishes both UIs on localhost only, Grafana to anonymous viewers, with an optional admin password', () => {
    expect(prometheus?.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(grafana?.ports).toEqual(['127.0.0.1:3001:3000']);
    expect(grafana?.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
      // `:?` would make plain `docker compose up` fail without the profile.
      GF_SECURITY_ADMIN_PASSWORD: '${GRAFANA_ADMIN_PASSWORD:-}',
    });
  });

  it('hardens every one: no capabilities, no privilege escalation, a read-only root but for Grafana', () => {
    for (const [name, service] of Object.entries(observability)) {
      expect(service?.cap_drop, name).toEqual(['ALL']);
      expect(service?.security_opt, name).toEqual(['no-new-privileges:true']);
      expect(service?.read_only, name).toBe(name === 'grafana' ? undefined : true);
    }
  });

});

interface GrafanaDatasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  isDefault?: boolean;
  jsonData?: {
    tracesToLogsV2?: { datasourceUid: string; customQuery?: boolean; query?: string };
    derivedFields?: { name: string; datasourceUid: string; matcherRegex: string; url: string }[];
  };
}

/** Grafana expands $VAR and ${VAR} in provisioning files; `$$` is a literal `$`. */
function unescapeProvisioning(text: string): string {
  return text.replaceAll('$$', '$');
}

describe('traces and logs in the compose observability profile', () => {
  const compose = parse(readFileSync(join(ROOT, 'compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
  const { tempo, loki, alloy, grafana } = compose.services;
  const provisioning = hostPath(grafana, '/etc/grafana/provisioning') ?? '';
  const datasources = readdirSync(join(provisioning, 'datasources')).flatMap(
    (file) => (parse(readFileSync(join(provisioning, 'datasources', file), 'utf8')) as { datasources: GrafanaDatasource[] }).datasources,
  );
  const byType = (type: string) => datasources.find((datasource) => datasource.type === type);
  const configOf = (service: ComposeService | undefined, flag: string): string =>
    readFileSync(hostPath(service, service?.command?.find((argument) => argument.startsWith(flag))?.slice(flag.length) ?? '') ?? '', 'utf8');
  const tempoConfig = parse(configOf(tempo, '-config.file=')) as {
    server: { http_listen_port: number };
    distributor: { receivers: { otlp: { protocols: { http: { endpoint: string } } } } };
  };
  const lokiConfig = parse(configOf(loki, '-config.file=')) as { server: { http_listen_port: number } };
  const alloyConfig = readFileSync(hostPath(alloy, alloy?.command?.at(-1) ?? '') ?? '', 'utf8');
  const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');

  it('has Tempo take OTLP/HTTP from other containers on 4318, the endpoint .env.example gives the app', () => {
    expect(tempoConfig.distributor.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(envExample).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://tempo:4318');
  });

  it('provisions Prometheus, Tempo and Loki, each at its service and port, one default', () => {
    expect(datasources.map((datasource) => datasource.type).sort()).toEqual(['loki', 'prometheus', 'tempo']);
    expect(datasources.filter((datasource) => datasource.isDefault === true).map((datasource) => datasource.type)).toEqual(['prometheus']);
    expect(byType('tempo')?.url).toBe(`http://tempo:${tempoConfig.server.http_listen_port}`);
    expect(byType('loki')?.url).toBe(`http://loki:${lokiConfig.server.http_listen_port}`);
  });

  it('has Alloy ship the app container\'s lines to that Loki, with trace_id as structured metadata and the service name Tempo\'s log query selects', () => {
    expect(alloyConfig).toContain(`url = "http://loki:${lokiConfig.server.http_listen_port}/loki/api/v1/push"`);
    expect(alloyConfig).toContain('values = ["com.docker.compose.service=app"]');
    expect(alloyConfig).toMatch(/expressions = \{[^}]*trace_id = "trace_id"/);
    expect(alloyConfig).toMatch(/stage\.structured_metadata \{\s*values = \{ trace_id = "" \}/);
    expect(alloyConfig).toContain('labels        = { service_name = "shipshape" }');
    expect(byType('tempo')?.jsonData?.tracesToLogsV2?.query).toBe('{service_name="shipshape"} | trace_id="$${__span.traceId}"');
  });

  it('links both ways: a span to the log lines of its trace in Loki, a log line\'s trace_id to Tempo', () => {
    expect(byType('tempo')?.jsonData?.tracesToLogsV2).toMatchObject({ datasourceUid: byType('loki')?.uid, customQuery: true });
    expect(byType('loki')?.jsonData?.derivedFields).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: byType('tempo')?.uid, url: '$${__value.raw}' }),
    ]);
  });

  it('extracts, with the Loki derived field, the trace id from a real log line of a traced request', async () => {
    const receiver = new OtlpReceiver();
    const testApp = await createTestApp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: await receiver.start() } });
    try {
      const response = await testApp.app.inject({ method: 'GET', url: '/api/tags' });
      const line = testApp.logs.find((entry) => entry.requestId === response.headers['x-request-id']);
      const pattern = new RegExp(unescapeProvisioning(byType('loki')?.jsonData?.derivedFields?.[0]?.matcherRegex ?? ''));

      // pino writes compact JSON, as JSON.stringify does.
      expect(pattern.exec(JSON.stringify(line))?.[1]).toBe(String(response.headers.traceresponse).split('-')[1]);
    } finally {
      await testApp.close();
      await receiver.stop();
    }
  });

  it('links the latency panels to the traces in Tempo, through a datasource variable, the per-route panel by route', () => {
    const traces = dashboard.templating.list.find((variable) => variable.name === 'traces');
    const links = (title: string) => (panels.find((panel) => panel.title === title)?.fieldConfig as { defaults: { links?: { url: string }[] } }).defaults.links ?? [];
    const explore = (url: string) => JSON.parse(decodeURIComponent(new URL(url, 'http://grafana').searchParams.get('panes') ?? '{}')) as Record<string, { queries: { datasource: { uid: string }; query: string }[] }>;
    const byRoute = Object.values(explore(links('p99 latency by route')[0]?.url ?? ''))[0]?.queries[0];
    const overall = Object.values(explore(links('Latency p50 / p90 / p99')[0]?.url ?? ''))[0]?.queries[0];

    expect(traces).toMatchObject({ type: 'datasource', query: 'tempo' });
    expect(byRoute?.datasource.uid).toBe('${traces}');
    expect(byRoute?.query).toContain('span.http.route = "${__field.labels.route:percentencode}"');
    expect(overall?.datasource.uid).toBe('${traces}');
    expect(overall?.query).toContain('kind = server');
  });
});
