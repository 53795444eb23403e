/**
 * A WebSocket upgrade written by hand on a TCP socket, for requests a client library will not
 * send: odd request targets, a header repeated, a huge target. Answers the HTTP status.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export async function rawUpgrade(
  baseUrl: string,
  target: string,
  headers: Array<[string, string]> = [],
  timeoutMs = 15_000,
): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  const lines = [
    `GET ${target} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
    'Sec-WebSocket-Version: 13',
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ];
  return new Promise<number>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${target.slice(0, 60)} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (!m) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(m[1]));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`connection closed without a status (target ${target.slice(0, 60)})`));
    });
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
