export * from './codec.js';
export * from './connect.js';
export * from './lifecycle.js';
export * from './limiter.js';
export * from './push.js';
export * from './request.js';
export * from './serve.js';
export * from './stream.js';
export type { JsMsg, Msg, Subscription } from 'nats';
