/**
 * Who is asking: verify the token, then create or refresh the user's profile from its claims
 * through `dialogs` (`users.upsert_from_claims`). An inactive user is refused like a bad token.
 */
import type { RpcClient } from '@parley/bus';
import { ParleyError, type UserRecordDto } from '@parley/protocol';
import type { TokenVerifier } from './verify.js';

export interface Principal {
  user_id: number;
  /** token expiry, seconds since the epoch */
  exp: number;
  user: UserRecordDto;
}

export type Authenticator = (token: string | null, requestId?: string) => Promise<Principal>;

/** Throws `unauthorized`, or `unavailable` when dialogs does not answer. */
export function createAuthenticator(verify: TokenVerifier, rpc: RpcClient): Authenticator {
  return async (token, requestId) => {
    if (!token) throw new ParleyError('unauthorized');
    const identity = await verify(token);
    let user: UserRecordDto;
    try {
      ({ data: user } = await rpc.request(
        'users.upsert_from_claims',
        { claims: identity.claims },
        { requestId },
      ));
    } catch (err) {
      if (err instanceof ParleyError && err.code === 'unavailable') throw err;
      if (err instanceof ParleyError && err.code === 'internal') throw err;
      throw new ParleyError('unauthorized');
    }
    if (!user.is_active) throw new ParleyError('unauthorized');
    return { user_id: identity.user_id, exp: identity.exp, user };
  };
}
