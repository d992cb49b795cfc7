import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** Where a connection goes once accepted: the broker's `handle`. */
export type ConnectionHandler = (stream: Duplex, request?: IncomingMessage) => void;

/** Resolves once `server` listens; rejects with a message naming the address when it cannot. */
function listen(server: TcpServer | HttpServer, port: number, host: string, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the address is already in use' : error.message;
      reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${reason}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: TcpServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** MQTT over TCP: a plain listener handing each socket (Nagle off) to the broker. */
export class TcpListener {
  readonly port: number;
  readonly #server: TcpServer;
  readonly #sockets: Set<Socket>;
  #closed: Promise<void> | undefined;

  private constructor(server: TcpServer, sockets: Set<Socket>, port: number) {
    this.#server = server;
    this.#sockets = sockets;
    this.port = port;
  }

  static async open(port: number, host: string, handle: ConnectionHandler): Promise<TcpListener> {
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      handle(socket);
    });
    return new TcpListener(server, sockets, await listen(server, port, host, 'MQTT over TCP'));
  }

  /** Stops accepting connections; those open stay until `destroyConnections`. */
  stopAccepting(): void {
    this.#closed ??= closeServer(this.#server);
  }

  /** Destroys what is still connected; resolves once the listener is fully closed. */
  async destroyConnections(): Promise<void> {
    this.stopAccepting();
    for (const socket of this.#sockets) socket.destroy();
    await this.#closed;
  }
}

/**
 * MQTT over WebSocket at one path of an HTTP server (the HTTP API's, or one of its own): upgrade
 * requests for that path become broker connections; other paths are left to the server's other
 * `upgrade` listeners, or refused when there are none.
 */
export class WebSocketListener {
  readonly #wss: WebSocketServer;
  readonly #server: HttpServer;
  readonly #path: string;
  readonly #handle: ConnectionHandler;
  readonly #ownServer: boolean;
  #accepting = true;
  #closed: Promise<void> | undefined;

  /** `maxPayload`: largest WebSocket message accepted (ws' default is 100 MiB). */
  constructor(
    server: HttpServer,
    path: string,
    handle: ConnectionHandler,
    maxPayload: number,
    ownServer = false,
  ) {
    this.#wss = new WebSocketServer({ noServer: true, maxPayload });
    this.#server = server;
    this.#path = path;
    this.#handle = handle;
    this.#ownServer = ownServer;
    server.on('upgrade', this.#onUpgrade);
  }

  /** A WebSocket listener on an HTTP server of its own (when there is no HTTP API to share). */
  static async open(port: number, host: string, path: string, handle: ConnectionHandler, maxPayload: number) {
    const server = createHttpServer((_request, response) => {
      response.writeHead(404).end();
    });
    const boundPort = await listen(server, port, host, 'MQTT over WebSocket');
    return { listener: new WebSocketListener(server, path, handle, maxPayload, true), port: boundPort };
  }

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== this.#path) {
      if (this.#server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    if (!this.#accepting) {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      // The broker sees errors through its own 'error' listener on the stream.
      stream.on('error', () => {});
      this.#handle(stream, request);
    });
  };

  /** Refuses new upgrades on the path (and stops its own HTTP server, if it has one, listening). */
  stopAccepting(): void {
    this.#accepting = false;
    if (this.#ownServer) this.#closed ??= closeServer(this.#server);
  }

  /** Terminates what is still connected and detaches from the HTTP server. */
  async destroyConnections(): Promise<void> {
    this.stopAccepting();
    for (const ws of this.#wss.clients) ws.terminate();
    this.#wss.close();
    this.#server.off('upgrade', this.#onUpgrade);
    if (this.#ownServer) this.#server.closeAllConnections();
    await this.#closed;
  }
}
