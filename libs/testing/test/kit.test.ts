/** The test kit itself, on the real servers: a database per suite, the SMTP sink, the ws client, private NATS. */
import { createServer } from 'node:http';
import { afterAll, describe, expect, test } from '@jest/globals';
import {
  connectWs,
  createTestDatabase,
  NO_SERVERS_HELP,
  noRuntime,
  startNatsServer,
  startSmtpSink,
  waitFor,
} from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import { createTransport } from 'nodemailer';
import { WebSocketServer } from 'ws';

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('createTestDatabase', () => {
  test('each call gets its own utf8mb4 database on the real server; drop removes it', async () => {
    const a = await createTestDatabase();
    const b = await createTestDatabase();
    expect(a.name).not.toBe(b.name);
    const c = await createConnection(a.url);
    try {
      await c.query('CREATE TABLE t (s VARCHAR(10)) DEFAULT CHARSET=utf8mb4');
      await c.query('INSERT INTO t VALUES (?)', ['🦄 ok']);
      const [rows] = await c.query('SELECT s FROM t');
      expect(rows).toEqual([{ s: '🦄 ok' }]);
    } finally {
      await c.end();
    }
    await a.drop();
    await b.drop();
    const admin = await createConnection(a.url.slice(0, a.url.lastIndexOf('/')));
    const [dbs] = await admin.query('SHOW DATABASES LIKE ?', [a.name]);
    await admin.end();
    expect(dbs).toEqual([]);
  });
});

describe('startSmtpSink', () => {
  test('accepts real SMTP with auth and keeps the parsed message; an outage refuses connections', async () => {
    const sink = await startSmtpSink();
    cleanups.push(() => sink.stop());
    const t = createTransport(sink.url);
    await t.sendMail({
      from: 'a@x.test',
      to: 'b@y.test',
      subject: 'Привет',
      text: 'plain',
      html: '<b>html</b>',
    });
    const [m] = await sink.waitForCount(1);
    expect(m?.envelope.to).toEqual(['b@y.test']);
    expect(m?.parsed.subject).toBe('Привет');
    expect(m?.parsed.text?.trim()).toBe('plain');
    expect(m?.parsed.html).toContain('<b>html</b>');
    await sink.stop();
    await expect(t.sendMail({ from: 'a@x.test', to: 'b@y.test', text: 'x' })).rejects.toThrow();
    await sink.start();
    await t.sendMail({ from: 'a@x.test', to: 'b@y.test', text: 'again' });
    await sink.waitForCount(2);
    t.close();
  });
});

describe('connectWs', () => {
  test('sends frames, awaits answers by request_id, and reports refused upgrades and close codes', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (!req.url?.includes('token=good')) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (d) => {
          const f = JSON.parse(String(d));
          if (f.event === 'bye') ws.close(4401, 'token expired');
          else
            ws.send(JSON.stringify({ type: 'ws_send', event: f.event, data: 1, request_id: f.request_id }));
        });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    await expect(connectWs(base, { token: 'bad' })).rejects.toMatchObject({ status: 401 });
    const ws = await connectWs(base, { token: 'good' });
    const answer = await ws.request({ event: 'notifications.dialogs.count' });
    expect(answer).toMatchObject({ event: 'notifications.dialogs.count', data: 1 });
    ws.send({ event: 'bye' });
    expect(await ws.closed).toEqual({ code: 4401, reason: 'token expired' });
    wss.close();
  });
});

describe('servers', () => {
  test('a private nats-server can be killed and restarted on its port', async () => {
    const n = await startNatsServer();
    cleanups.push(() => n.stop());
    const { connect } = await import('node:net');
    const reachable = () =>
      new Promise<boolean>((resolve) => {
        const s = connect(n.port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
    expect(await reachable()).toBe(true);
    await n.kill();
    expect(await reachable()).toBe(false);
    await n.restart();
    await waitFor(reachable, { what: 'restarted nats' });
  });

  test("a private nats-server never passes off another process's server on its port as its own", async () => {
    const first = await startNatsServer();
    cleanups.push(() => first.stop());
    // the port is taken: a start there refuses instead of handing out the other server
    await expect(startNatsServer({ port: first.port })).rejects.toThrow(/did not start/);
    // the same while restarting: someone else took the port while this one was down
    const second = await startNatsServer();
    cleanups.push(() => second.stop());
    await second.kill();
    const squatter = await startNatsServer({ port: second.port });
    cleanups.push(() => squatter.stop());
    await expect(second.restart()).rejects.toThrow(/did not start/);
  });

  test('no container runtime becomes one sentence saying what to set', () => {
    const e = noRuntime(new Error('Could not find a working container runtime strategy'));
    expect(e.message).toBe(NO_SERVERS_HELP);
    expect(e.message).toMatch(/MYSQL_URL/);
    expect(e.message).toMatch(/NATS_URL/);
  });
});
