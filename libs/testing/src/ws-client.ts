/** A WebSocket test client: send frames, await frames by predicate, see how the socket closed. */
import WebSocket from 'ws';
import { waitFor } from './wait-for.js';

// biome-ignore lint/suspicious/noExplicitAny: frames are arbitrary JSON
export type Frame = Record<string, any>;

export interface TestSocket {
  ws: WebSocket;
  /** every frame received so far, in order */
  frames: Frame[];
  send(frame: unknown): void;
  sendRaw(text: string | Buffer): void;
  /** send and await the direct answer (matched by a generated request_id) */
  request(frame: Frame, timeoutMs?: number): Promise<Frame>;
  /** the first frame (received or future) after index `from` matching `pred` */
  next(pred: (f: Frame) => boolean, opts?: { timeoutMs?: number; from?: number }): Promise<Frame>;
  /** frames matching `pred` */
  where(pred: (f: Frame) => boolean): Frame[];
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  token?: string;
  /** put the token here instead of ?token= */
  via?: 'query' | 'header' | 'protocol';
  headers?: Record<string, string>;
  path?: string;
}

let seq = 0;

/** Open a socket; rejects with the HTTP status when the upgrade is refused. */
export async function connectWs(baseUrl: string, opts: ConnectOptions = {}): Promise<TestSocket> {
  const url = new URL(opts.path ?? '/ws/', baseUrl.replace(/^http/, 'ws'));
  const headers: Record<string, string> = { ...opts.headers };
  let protocols: string[] | undefined;
  if (opts.token !== undefined) {
    const via = opts.via ?? 'query';
    if (via === 'query') url.searchParams.set('token', opts.token);
    else if (via === 'header') headers.authorization = `Bearer ${opts.token}`;
    else protocols = ['bearer', opts.token];
  }
  const ws = new WebSocket(url, protocols, { headers });
  const frames: Frame[] = [];
  ws.on('message', (data) => {
    try {
      frames.push(JSON.parse(String(data)));
    } catch {
      frames.push({ unparsable: String(data) });
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      res.resume();
    });
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  const sock: TestSocket = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (text) => ws.send(text),
    async request(frame, timeoutMs) {
      const request_id = `r${++seq}`;
      const from = frames.length;
      ws.send(JSON.stringify({ ...frame, request_id }));
      return sock.next((f) => f.request_id === request_id, { from, ...(timeoutMs ? { timeoutMs } : {}) });
    },
    next(pred, o = {}) {
      const from = o.from ?? 0;
      return waitFor(() => frames.slice(from).find(pred), {
        timeoutMs: o.timeoutMs ?? 5_000,
        what: 'a frame',
      });
    },
    where: (pred) => frames.filter(pred),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return sock;
}
