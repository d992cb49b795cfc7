import { MercurioClient } from './client.js';
import type { ConnectionState } from './events.js';
import type { ConnectOptions } from './options.js';

/** Creates a client and starts connecting; it works offline (the outbox queues) until it can connect. */
export function createClient(options: ConnectOptions): MercurioClient {
  const client = new MercurioClient(options);
  client.start();
  return client;
}

/**
 * Creates a client and resolves once it is connected and subscribed; rejects when the server
 * refuses the token (the client is then `unauthorized`).
 */
export function connect(options: ConnectOptions): Promise<MercurioClient> {
  const client = new MercurioClient(options);
  return new Promise((resolve, reject) => {
    const off = client.on('state', (change) => {
      if (change.new === 'connected') {
        off();
        resolve(client);
      } else if (change.new === 'unauthorized' || change.new === 'disconnected') {
        off();
        reject(new MercurioConnectError(change.new, change.reason ?? change.new));
      }
    });
    client.start();
  });
}

export class MercurioConnectError extends Error {
  readonly state: ConnectionState;

  constructor(state: ConnectionState, message: string) {
    super(message);
    this.name = 'MercurioConnectError';
    this.state = state;
  }
}
