export * from './common.js';
export * from './define.js';
export * from './load.js';
