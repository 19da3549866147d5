import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process.ts';

/**
 * A throw-away OCI registry: Debian's docker-registry (the CNCF distribution registry, as GHCR
 * and GitLab's registry speak it) on 127.0.0.1 over HTTPS, with a certificate made for the
 * occasion, storing under a temp directory. `env` makes skopeo trust that certificate
 * (SSL_CERT_FILE, which Go's TLS reads), so the scripts under test run unchanged.
 */
export interface LocalRegistry {
  host: string;
  env: Record<string, string>;
  stop(): void;
}

export async function startRegistry(): Promise<LocalRegistry> {
  const directory = mkdtempSync(join(tmpdir(), 'shipshape-registry-'));
  const port = await freePort();
  const certificate = join(directory, 'cert.pem');
  const key = join(directory, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', certificate], {
    stdio: 'ignore',
  });
  const config = join(directory, 'config.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(directory, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  tls:',
      `    certificate: ${certificate}`,
      `    key: ${key}`,
      '',
    ].join('\n'),
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const stop = () => {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    await waitForRegistry(`https://127.0.0.1:${port}/v2/`, readFileSync(certificate), 15_000);
  } catch (error) {
    stop();
    throw error;
  }
  return { host: `127.0.0.1:${port}`, env: { SSL_CERT_FILE: certificate }, stop };
}

/** Polls the registry's API root until it answers 200 over TLS with this certificate. */
async function waitForRegistry(url: string, ca: Buffer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await new Promise<number>((resolve) => {
      get(url, { ca }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on('error', () => resolve(0));
    });
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the registry at ${url} did not answer 200 within ${timeoutMs} ms (last: ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with extra environment variables, resolving with its exit code and output. */
export function runCommand(command: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** Pushes a local image (podman's storage) to the registry as <repository>:<tag>; resolves with the digest the registry answers. */
export async function pushImage(registry: LocalRegistry, image: string, repository: string, tag: string): Promise<string> {
  const target = `${registry.host}/${repository}:${tag}`;
  const copy = await runCommand('skopeo', ['copy', '--quiet', `containers-storage:${image}`, `docker://${target}`], registry.env);
  if (copy.code !== 0) throw new Error(`skopeo copy ${image} ${target} exited ${copy.code}: ${copy.stderr}`);
  return registryDigest(registry, target);
}

/** The digest of the manifest <reference> names in the registry. */
export async function registryDigest(registry: LocalRegistry, reference: string): Promise<string> {
  const inspect = await runCommand('skopeo', ['inspect', '--format', '{{.Digest}}', `docker://${reference}`], registry.env);
  if (inspect.code !== 0) throw new Error(`skopeo inspect ${reference} exited ${inspect.code}: ${inspect.stderr}`);
  return inspect.stdout.trim();
}
