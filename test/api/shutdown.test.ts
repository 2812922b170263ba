// Graceful shutdown: close() stops accepting connections but lets a request already in
// flight finish. The request is held mid-body, so the test needs no timing.
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/api/auth.ts';
import { registerApiEntities } from '../../src/api/entities.ts';
import { startServer } from '../../src/api/server.ts';
import { createTestStore, type TestStore } from '../support/db.ts';

let store: TestStore;
beforeAll(async () => {
  store = await createTestStore();
  registerApiEntities(store);
});
afterAll(async () => {
  await store?.destroy();
});

describe('graceful shutdown', () => {
  it('finishes an in-flight request, then refuses new connections', async () => {
    const { key } = await createApiKey(store.em(), { role: 'viewer', name: 'shutdown' });
    let started: () => void = () => {};
    const requestStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const logs = new Writable({
      write(chunk, _encoding, done) {
        if (String(chunk).includes('"msg":"request started"')) started();
        done();
      },
    });
    const server = await startServer({ store, port: 0, logger: pino({ level: 'debug' }, logs) });

    const body = JSON.stringify({ query: '{ viewer { role } }' });
    const socket = connect(server.port, '127.0.0.1');
    let response = '';
    socket.on('data', (d) => {
      response += d;
    });
    const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` +
        body.slice(0, 10),
    );
    await requestStarted;

    const closed = server.close();
    // new connections are refused while the old request is still open
    const refused = await new Promise<string>((resolve) => {
      const probe = connect(server.port, '127.0.0.1');
      probe.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      probe.on('connect', () => {
        probe.destroy();
        resolve('connected');
      });
    });
    expect(refused).toBe('ECONNREFUSED');

    socket.write(body.slice(10));
    await ended;
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(response).toContain('{"data":{"viewer":{"role":"viewer"}}}');
  });
});
