export * from './last-resort.js';
export * from './logger.js';
