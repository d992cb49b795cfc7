import type { AddressInfo } from 'node:net';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One relayed connection: what the client opened, and the relay's connection upstream. */
interface Pair {
  client: Socket;
  upstream: Socket | undefined;
}

/**
 * A TCP relay in front of a real server, so a test can break the network for real, not a mock:
 * - `cut()` drops every connection and refuses new ones, until `restore()`;
 * - `stall()` keeps every connection open but forwards nothing either way (new connections are
 *   accepted and wait), until `restore()`, which forwards what waited: a path that stops passing
 *   packets and heals, as a stalled network looks to both ends;
 * - `reset()` destroys every current connection abruptly (TCP RST) and keeps accepting;
 * - `retarget(host, port)` sends new connections to another server (a virtual IP or a pgbouncer
 *   moved to a promoted replica); current ones stay where they are.
 */
export class TcpProxy {
  readonly #server: Server;
  #targetHost: string;
  #targetPort: number;
  readonly #pairs = new Set<Pair>();
  #down = false;
  #stalled = false;

  private constructor(server: Server, targetHost: string, targetPort: number) {
    this.#server = server;
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, targetHost, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Connections currently relayed (or waiting to be). */
  get connections(): number {
    return this.#pairs.size;
  }

  cut(): void {
    this.#down = true;
    this.#stalled = false;
    for (const pair of this.#pairs) this.#destroy(pair, false);
  }

  stall(): void {
    this.#stalled = true;
    for (const { client, upstream } of this.#pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  retarget(host: string, port: number): void {
    this.#targetHost = host;
    this.#targetPort = port;
  }

  reset(): void {
    for (const pair of this.#pairs) this.#destroy(pair, true);
  }

  /** Ends a cut or a stall: new connections are relayed, and stalled ones forward again. */
  restore(): void {
    this.#down = false;
    if (!this.#stalled) return;
    this.#stalled = false;
    for (const pair of this.#pairs) {
      if (pair.upstream) {
        pair.client.resume();
        pair.upstream.resume();
      } else {
        this.#connectUpstream(pair);
      }
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #accept(client: Socket): void {
    if (this.#down) {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on('error', () => this.#destroy(pair, false));
    client.on('close', () => this.#destroy(pair, false));
    if (this.#stalled) client.pause();
    else this.#connectUpstream(pair);
  }

  #connectUpstream(pair: Pair): void {
    const upstream = createConnection(this.#targetPort, this.#targetHost);
    pair.upstream = upstream;
    upstream.on('error', () => this.#destroy(pair, false));
    upstream.on('close', () => this.#destroy(pair, false));
    // Forwarded by hand rather than piped, so that a stall's pause() is not undone by a drain.
    this.#forward(pair.client, upstream);
    this.#forward(upstream, pair.client);
    pair.client.resume();
  }

  #forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on('drain', () => {
      if (!this.#stalled) from.resume();
    });
    from.on('end', () => to.end());
  }

  #destroy(pair: Pair, abruptly: boolean): void {
    if (!this.#pairs.delete(pair)) return;
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (abruptly) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
