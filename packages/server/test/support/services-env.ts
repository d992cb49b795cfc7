/**
 * What `scripts/services.sh` started for a test run (the throwaway RabbitMQ node and PostgreSQL
 * cluster), as handed to tests by the global setup (`global-services.ts`) through `project.provide`.
 */
export interface ServicesEnv {
  /** `amqp://127.0.0.1:<port>`, no credentials: clients add a JWT as the password. */
  amqpUrl: string;
  /** `mqtt://127.0.0.1:<port>` (MQTT 3.1.1; JWT as the password, any username). */
  mqttUrl: string;
  /** `ws://127.0.0.1:<port>/ws` (Web-MQTT). */
  wsUrl: string;
  /** `postgres://postgres@127.0.0.1:<port>/mercurio` (trust auth). */
  pgUrl: string;
  /** HS256 secret the broker verifies tokens with (tokens without `kid`, `aud` must include `rabbitmq`). */
  jwtSecret: string;
  /** Path of a wrapper running `rabbitmqctl` against the throwaway node (`list_queues`, `stop_app`, …). */
  rabbitmqctl: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServicesEnv;
  }
}
