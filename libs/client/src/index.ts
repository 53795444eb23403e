/** @parley/client: the typed WebSocket client of Parley (browsers and Node). */
export { type BackoffOptions, backoffDelay } from './backoff.js';
export { connectParley, ParleyClient, type ParleyClientOptions, randomId } from './client.js';
export { type ClientErrorKind, ParleyClientError } from './errors.js';
export { tokenExpiryMs } from './token.js';
export type * from './types.js';
