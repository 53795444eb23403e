/**
 * Typed request to a command of the RPC map. No responders and timeouts become
 * `unavailable`; a service error comes back as the same ParleyError.
 */
import {
  type Caller,
  type ErrorBody,
  ParleyError,
  type RpcCommand,
  type RpcReply,
  type RpcRequest,
  type RpcResponse,
  type Subjects,
} from '@parley/protocol';
import { type Msg, type MsgHdrs, type NatsConnection, headers as natsHeaders } from 'nats';
import { decode, encode, HEADERS } from './codec.js';
import { type ReplyMux, replyMux } from './reply-mux.js';

export interface RequestOptions {
  timeoutMs?: number;
  requestId?: string | undefined;
}

export interface RpcClient {
  request<C extends RpcCommand>(
    command: C,
    payload: RpcRequest<C>,
    opts?: RequestOptions,
  ): Promise<RpcReply<RpcResponse<C>>>;
}

export function createRpcClient(
  nc: NatsConnection,
  subjects: Subjects,
  defaults: { timeoutMs: number },
): RpcClient {
  return {
    async request(command, payload, opts = {}) {
      const h = natsHeaders();
      if (opts.requestId) h.set(HEADERS.REQUEST_ID, opts.requestId);
      const reply = await ask(
        nc,
        subjects.rpc(command),
        encode(payload),
        h,
        opts.timeoutMs ?? defaults.timeoutMs,
      );
      if (reply.headers?.get(HEADERS.SERVICE_ERROR)) {
        let body: Partial<ErrorBody> | undefined;
        try {
          body = decode<ErrorBody>(reply.data);
        } catch {
          body = { code: 'internal' };
        }
        throw ParleyError.fromBody(body);
      }
      return decode<RpcReply<RpcResponse<typeof command>>>(reply.data);
    },
  };
}

/**
 * One request on the connection's reply mux (reply-mux.ts: no request object, timer-less error or
 * captured stack per call). No responders (the server's 503), a timeout, a closed or draining
 * connection: `unavailable`; any other status: `internal`.
 */
function ask(
  nc: NatsConnection,
  subject: string,
  data: Uint8Array,
  h: MsgHdrs,
  timeoutMs: number,
): Promise<Msg> {
  return new Promise((resolve, reject) => {
    let mux: ReplyMux;
    let n = -1;
    const timer = setTimeout(() => {
      mux?.forget(n);
      reject(new ParleyError('unavailable'));
    }, timeoutMs);
    try {
      mux = replyMux(nc);
      n = mux.expect((m) => {
        clearTimeout(timer);
        if (!m.headers?.hasError) resolve(m);
        else reject(new ParleyError(m.headers.code === 503 ? 'unavailable' : 'internal'));
      });
      nc.publish(subject, data, { reply: mux.subject(n), headers: h });
    } catch {
      // closed or draining: nothing goes out
      clearTimeout(timer);
      if (n >= 0) mux!.forget(n);
      reject(new ParleyError('unavailable'));
    }
  });
}

/** Shorthand for the identity a gateway attaches to client requests. */
export function caller(user_id: number, conn_id: string | null = null): Caller {
  return { user_id, conn_id };
}
