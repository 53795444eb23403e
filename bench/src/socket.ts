/**
 * A load-generator WebSocket client: many requests in flight matched by `request_id` (no polling), pushes
 * handed to one listener as they arrive with their arrival time. Works against the gateway and the floor server.
 */
import WebSocket from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: frames are arbitrary JSON
export type Frame = Record<string, any>;

export interface BenchSocket {
  /** send `{event, ...params, request_id}` and resolve with the answer frame and its round trip in ms */
  request(
    event: string,
    params: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<{ frame: Frame; ms: number }>;
  /** send a frame without waiting for anything */
  send(frame: Frame): void;
  /** frames without a request_id (pushes), with performance.now() at arrival */
  onPush(listener: (frame: Frame, at: number) => void): void;
  close(): void;
}

const REQUEST_TIMEOUT_MS = 15_000;

export function openSocket(url: string, opts: { timeoutMs?: number } = {}): Promise<BenchSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const pending = new Map<string, { resolve: (f: Frame) => void; timer: NodeJS.Timeout }>();
  let listener: ((frame: Frame, at: number) => void) | undefined;
  let seq = 0;
  ws.on('message', (data) => {
    const at = performance.now();
    const frame = JSON.parse(String(data)) as Frame;
    const id = frame.request_id;
    const waiter = id === undefined ? undefined : pending.get(String(id));
    if (waiter) {
      pending.delete(String(id));
      clearTimeout(waiter.timer);
      waiter.resolve(frame);
    } else listener?.(frame, at);
  });
  ws.on('close', () => {
    for (const [id, w] of pending) {
      clearTimeout(w.timer);
      pending.delete(id);
      w.resolve({ exception: true, error: { code: 'socket_closed' } });
    }
  });
  const socket: BenchSocket = {
    request(event, params, timeoutMs = REQUEST_TIMEOUT_MS) {
      const request_id = `b${++seq}`;
      const started = performance.now();
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(request_id);
          resolve({
            frame: { exception: true, error: { code: 'bench_timeout' } },
            ms: performance.now() - started,
          });
        }, timeoutMs);
        pending.set(request_id, {
          resolve: (frame) => resolve({ frame, ms: performance.now() - started }),
          timer,
        });
        ws.send(JSON.stringify({ event, ...params, request_id }));
      });
    },
    send: (frame) => ws.send(JSON.stringify(frame)),
    onPush(l) {
      listener = l;
    },
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`connect timeout: ${url.replace(/token=[^&]+/, 'token=…')}`));
    }, opts.timeoutMs ?? 15_000);
    ws.once('open', () => {
      clearTimeout(timer);
      ws.on('error', () => undefined);
      resolve(socket);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      res.resume();
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`));
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** a WebSocket server is up when a socket to `url` opens */
export async function waitListening(url: string, maxMs = 10_000): Promise<void> {
  const deadline = performance.now() + maxMs;
  for (;;) {
    try {
      (await openSocket(url, { timeoutMs: 1_000 })).close();
      return;
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
