export * from './conversation-kind.js';
export * from './errors.js';
export * from './ids.js';
export * from './inbox-schemas.js';
export * from './schemas.js';
export * from './scopes.js';
export * from './status.js';
export * from './topics.js';
