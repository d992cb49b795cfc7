import { inject } from 'vitest';
import type { ServicesEnv } from './services-env.js';

export type { ServicesEnv } from './services-env.js';

/** The running test services (RabbitMQ, PostgreSQL, JWT secret) provided by the global setup. */
export function services(): ServicesEnv {
  const env = inject('services');
  if (!env) {
    throw new Error(
      'services are not provided: run the "server" Vitest project (globalSetup global-services.ts)',
    );
  }
  return env;
}
