export * from './fixtures.js';
export * from './mysql.js';
export * from './nats.js';
export * from './nats-cluster.js';
export * from './servers.js';
export * from './smtp-sink.js';
export * from './wait-for.js';
export * from './ws-client.js';
