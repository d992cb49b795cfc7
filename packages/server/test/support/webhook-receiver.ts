import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
  /** What the receiver answered (or 0 when it never answered). */
  answered: number;
}

export type Behaviour = (
  request: ReceivedHook,
  index: number,
) => { status: number; delayMs?: number } | 'hang';

/** A host application's webhook endpoint on loopback, with scripted failures. */
export class WebhookReceiver {
  readonly requests: ReceivedHook[] = [];
  readonly #server: Server;
  behaviour: Behaviour = () => ({ status: 200 });

  private constructor(server: Server) {
    this.#server = server;
  }

  /** The engine settings that send every webhook event to this receiver, polled every 50 ms. */
  settings(): Record<string, string> {
    return {
      MERCURIO_WEBHOOKS: JSON.stringify([{ url: this.url }]),
      MERCURIO_WEBHOOK_SECRET: 'webhook-secret-webhook-secret-webhook-secret',
      MERCURIO_WEBHOOK_POLL_MS: '50',
    };
  }

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const hook: ReceivedHook = { headers: req.headers, raw, body: JSON.parse(raw), answered: 0 };
        const index = receiver!.requests.push(hook) - 1;
        const action = receiver!.behaviour(hook, index);
        if (action === 'hang') return;
        setTimeout(() => {
          hook.answered = action.status;
          res.writeHead(action.status).end();
        }, action.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hooks`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
