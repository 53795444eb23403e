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
import { ErrorCode, type NatsConnection, NatsError, headers as natsHeaders } from 'nats';
import { decode, encode, HEADERS } from './codec.js';

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
      let reply: Awaited<ReturnType<NatsConnection['request']>>;
      try {
        reply = await nc.request(subjects.rpc(command), encode(payload), {
          timeout: opts.timeoutMs ?? defaults.timeoutMs,
          headers: h,
        });
      } catch (err) {
        if (err instanceof NatsError) {
          if (
            err.code === ErrorCode.NoResponders ||
            err.code === ErrorCode.Timeout ||
            err.code === ErrorCode.ConnectionClosed ||
            err.code === ErrorCode.ConnectionDraining ||
            err.code === ErrorCode.Disconnect
          ) {
            throw new ParleyError('unavailable');
          }
        }
        throw new ParleyError('internal');
      }
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

/** Shorthand for the identity a gateway attaches to client requests. */
export function caller(user_id: number, conn_id: string | null = null): Caller {
  return { user_id, conn_id };
}
