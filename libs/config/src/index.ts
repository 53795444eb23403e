export * from './common.js';
export * from './define.js';
export * from './docs.js';
export * from './dotenv.js';
export * from './load.js';
export * from './secrets.js';
