export * from './metrics-endpoint.js';
