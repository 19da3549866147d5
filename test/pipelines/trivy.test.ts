import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/process.ts';

/**
 * The image gate's settings and waivers: trivy.yaml gates on fixable HIGH and CRITICAL findings
 * and reads .trivyignore.yaml, where every waiver must say why and expire within 90 days. A
 * waiver past (or about to pass) its date fails this test, so it is reviewed, not forgotten.
 */
const MAX_WAIVER_DAYS = 90;

interface Waiver {
  id?: string;
  statement?: string;
  expired_at?: string | Date;
}

/** What is wrong with the waivers, as of `today`. */
export function waiverProblems(document: { vulnerabilities?: Waiver[] | null }, today: Date): string[] {
  const problems: string[] = [];
  for (const waiver of document.vulnerabilities ?? []) {
    const id = waiver.id ?? '(no id)';
    if (!/^(CVE|GHSA)-[\w-]+$/.test(waiver.id ?? '')) problems.push(`${id}: not a CVE or GHSA id`);
    if ((waiver.statement ?? '').trim().length < 20) problems.push(`${id}: no reason given (statement)`);
    const expiry = waiver.expired_at === undefined ? Number.NaN : new Date(waiver.expired_at).getTime();
    if (Number.isNaN(expiry)) problems.push(`${id}: no expiry (expired_at)`);
    else if (expiry <= today.getTime()) problems.push(`${id}: expired on ${new Date(expiry).toISOString().slice(0, 10)}`);
    else if (expiry - today.getTime() > MAX_WAIVER_DAYS * 86_400_000) problems.push(`${id}: expires more than ${MAX_WAIVER_DAYS} days ahead`);
  }
  return problems;
}

const config = parse(readFileSync(join(ROOT, 'trivy.yaml'), 'utf8')) as Record<string, unknown>;
const waivers = parse(readFileSync(join(ROOT, '.trivyignore.yaml'), 'utf8')) as { vulnerabilities?: Waiver[] | null };

describe('trivy.yaml', () => {
  it('gates on fixable HIGH and CRITICAL findings and reads the waiver file', () => {
    expect(config.severity).toEqual(['HIGH', 'CRITICAL']);
    expect(config.vulnerability).toEqual({ 'ignore-unfixed': true });
    expect(config['exit-code']).toBe(1);
    expect(config.ignorefile).toBe('.trivyignore.yaml');
  });
});

describe('.trivyignore.yaml', () => {
  it('holds only waivers with a reason and an expiry that has not passed', () => {
    expect(waiverProblems(waivers, new Date())).toEqual([]);
  });

  it('would fail an expired waiver, one without a reason, and one that never ends', () => {
    const today = new Date('2026-12-03T00:00:00Z');
    const problems = waiverProblems(
      {
        vulnerabilities: [
          { id: 'CVE-2026-0001', statement: 'Not reachable: the image never loads this module', expired_at: '2026-11-30' },
          { id: 'CVE-2026-0002', expired_at: '2027-01-15' },
          { id: 'CVE-2026-0003', statement: 'Waiting for the next base image with the fix', expired_at: '2028-01-01' },
          { id: 'CVE-2026-0004', statement: 'Waiting for the next base image with the fix', expired_at: '2027-01-15' },
        ],
      },
      today,
    );

    expect(problems).toEqual([
      'CVE-2026-0001: expired on 2026-11-30',
      'CVE-2026-0002: no reason given (statement)',
      'CVE-2026-0003: expires more than 90 days ahead',
    ]);
  });
});

describe('trivy-sbom.yaml', () => {
  const sbom = parse(readFileSync(join(ROOT, 'trivy-sbom.yaml'), 'utf8')) as Record<string, unknown>;

  it('describes every package of the image in CycloneDX and gates on nothing (the gate is trivy.yaml)', () => {
    expect(sbom).toEqual({ format: 'cyclonedx', output: 'sbom-image.cdx.json', 'exit-code': 0 });
    expect(config['exit-code']).toBe(1);
  });
});
