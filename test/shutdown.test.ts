import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createShutdown } from '../src/shutdown.ts';
import { createTestApp } from './helpers/app.ts';
import { eventually } from './helpers/wait.ts';

function exitRecorder() {
  const codes: number[] = [];
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  return {
    codes,
    exited,
    exit: (code: number) => {
      codes.push(code);
      resolveExit(code);
    },
  };
}

describe('graceful shutdown', () => {
  it('turns /readyz 503 at once, keeps serving during the delay, then closes and exits 0', async () => {
    const testApp = await createTestApp();
    const recorder = exitRecorder();
    const shutdown = createShutdown(testApp.app, { delaySeconds: 1, timeoutSeconds: 5 }, recorder.exit);

    const done = shutdown('SIGTERM');
    const ready = await testApp.app.inject({ method: 'GET', url: '/readyz' });
    const served = await testApp.app.inject({ method: 'GET', url: '/api/tags' });

    expect(ready.statusCode).toBe(503);
    expect(served.statusCode).toBe(200);
    expect(served.headers.connection).toBe('close');
    expect(recorder.codes).toEqual([]);
    await done;
    expect(recorder.codes).toEqual([0]);
    expect(testApp.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down: draining', 'shutdown complete']));
    await testApp.close().catch(() => undefined);
  });

  it('finishes a request in flight before exiting', async () => {
    let release: () => void = () => undefined;
    let arrived = 0;
    const testApp = await createTestApp({
      configure: (app) => {
        app.get('/test/slow', { schema: { hide: true } }, async () => {
          await new Promise<void>((resolve) => {
            release = resolve;
          });
          return { finished: true };
        });
        app.addHook('onRequest', (_request, _reply, done) => {
          arrived += 1;
          done();
        });
      },
    });
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    const address = testApp.app.server.address() as AddressInfo;
    const recorder = exitRecorder();
    const shutdown = createShutdown(testApp.app, { delaySeconds: 0, timeoutSeconds: 5 }, recorder.exit);

    const inFlight = fetch(`http://127.0.0.1:${address.port}/test/slow`);
    await eventually(() => arrived, (count) => count === 1, { what: 'the slow request to arrive' });
    const done = shutdown('SIGTERM');
    await eventually(() => testApp.app.server.listening, (listening) => !listening, { what: 'the server to stop accepting' });
    expect(recorder.codes).toEqual([]);
    release();
    const response = await inFlight;

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await done;
    expect(recorder.codes).toEqual([0]);
    await testApp.close().catch(() => undefined);
  });

  it('exits 1 at once on a second signal', async () => {
    const testApp = await createTestApp();
    const recorder = exitRecorder();
    const shutdown = createShutdown(testApp.app, { delaySeconds: 30, timeoutSeconds: 5 }, recorder.exit);

    void shutdown('SIGTERM');
    await shutdown('SIGINT');

    expect(recorder.codes).toEqual([1]);
    await testApp.close();
  });

  it('exits 1 when requests do not finish within the timeout', async () => {
    let arrived = 0;
    const testApp = await createTestApp({
      configure: (app) => {
        app.get('/test/stuck', { schema: { hide: true } }, () => new Promise(() => undefined));
        app.addHook('onRequest', (_request, _reply, done) => {
          arrived += 1;
          done();
        });
      },
    });
    await testApp.app.listen({ port: 0, host: '127.0.0.1' });
    const address = testApp.app.server.address() as AddressInfo;
    const recorder = exitRecorder();
    const shutdown = createShutdown(testApp.app, { delaySeconds: 0, timeoutSeconds: 1 }, recorder.exit);

    const stuck = fetch(`http://127.0.0.1:${address.port}/test/stuck`).catch(() => undefined);
    await eventually(() => arrived, (count) => count === 1, { what: 'the stuck request to arrive' });
    void shutdown('SIGTERM');

    expect(await recorder.exited).toBe(1);
    expect(testApp.logs.some((line) => line.msg === 'shutdown took too long: exiting')).toBe(true);
    testApp.app.server.closeAllConnections();
    await stuck;
    await testApp.close().catch(() => undefined);
  });
});
