import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListeningTestApp, type TestApp } from '../helpers/app.ts';
import { eventually } from '../helpers/wait.ts';

/** A client that gives up halfway through its body is no failure of ours: info, not error. */
let testApp: TestApp & { baseUrl: string };
/** Requests the app has finished with, answered or abandoned by their client. */
let finished = 0;

beforeAll(async () => {
  testApp = await createListeningTestApp({
    configure: (app) => {
      for (const hook of ['onResponse', 'onRequestAbort'] as const) {
        app.addHook(hook, (_request: unknown, ...rest: unknown[]) => {
          finished += 1;
          (rest.at(-1) as () => void)();
        });
      }
    },
  });
});
afterAll(() => testApp.close());

/** Sends the head and part of a body that announces much more, then drops the connection. */
async function abandon(path: string, contentType: string, partialBody: string): Promise<void> {
  const socket = connect(Number(new URL(testApp.baseUrl).port), '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  const arrived = once(testApp.app.server, 'request');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: 1000000\r\n\r\n${partialBody}`);
  await arrived;
  socket.destroy();
}

/** Waits until the app is done with the abandoned request, however it ended, and its lines are logged. */
async function handled(path: string, finishedBefore: number, logsBefore: number): Promise<void> {
  await eventually(() => finished, (count) => count > finishedBefore, { what: `the app to finish with the abandoned ${path}` });
  await eventually(() => testApp.logs.slice(logsBefore), (lines) => lines.some((line) => line.level === 'info'), { what: `an info line about ${path}` });
}

describe('requests abandoned halfway', () => {
  it.each([
    ['an upload', '/settings', 'multipart/form-data; boundary=abc', `--abc\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${'x'.repeat(10_000)}`],
    ['a JSON body', '/api/users/login', 'application/json', `{"user":{"email":"${'x'.repeat(10_000)}`],
  ])('%s is logged at info, never as an error', async (_case, path, contentType, body) => {
    const before = testApp.logs.length;
    const finishedBefore = finished;

    await abandon(path, contentType, body);
    await handled(path, finishedBefore, before);

    const lines = testApp.logs.slice(before);
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
    expect(lines.some((line) => line.level === 'info')).toBe(true);
  });
});
