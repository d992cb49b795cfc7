import { Duplex } from 'node:stream';

/** What one MQTT connection may cost the embedded broker. */
export interface ConnectionBounds {
  /** Largest MQTT packet a client may send (fixed header included). */
  maxPacketBytes: number;
  /** Most bytes waiting to be written to the client before it counts as stuck and is disconnected. */
  maxOutgoingBytes: number;
}

/** Why a guarded connection was closed by its guard. */
export class ConnectionBoundExceeded extends Error {
  constructor(
    message: string,
    readonly bound: 'packet' | 'outgoing',
  ) {
    super(message);
    this.name = 'ConnectionBoundExceeded';
  }
}

/**
 * Puts a client's connection (TCP socket or WebSocket stream) between Aedes and the network:
 *
 * - Outgoing: writes are accepted at once, so Aedes never waits for this client's socket to drain
 *   (Aedes holds a publish — and with it the router's and everyone else's deliveries — until every
 *   subscriber's write is done). What the client does not read piles up in the socket's buffer;
 *   past `maxOutgoingBytes` the client is stuck or too slow and is disconnected: it costs only
 *   itself, and gap-fills from history when it comes back.
 * - Incoming: the MQTT fixed header of each packet is read as it arrives; a packet announcing more
 *   than `maxPacketBytes` closes the connection before its body is buffered (Aedes and
 *   mqtt-packet would take up to 256 MB).
 */
export function guardConnection(
  inner: Duplex,
  bounds: ConnectionBounds,
  onExceeded: (error: ConnectionBoundExceeded) => void,
): Duplex {
  return new GuardedConnection(inner, bounds, onExceeded);
}

class GuardedConnection extends Duplex {
  readonly #inner: Duplex;
  readonly #bounds: ConnectionBounds;
  readonly #onExceeded: (error: ConnectionBoundExceeded) => void;
  readonly #packets: PacketSizes;

  constructor(inner: Duplex, bounds: ConnectionBounds, onExceeded: (error: ConnectionBoundExceeded) => void) {
    // Aedes checks `write()`'s result: with a high-water mark above any packet it is always true.
    super({ allowHalfOpen: false, writableHighWaterMark: bounds.maxOutgoingBytes + bounds.maxPacketBytes });
    this.#inner = inner;
    this.#bounds = bounds;
    this.#onExceeded = onExceeded;
    this.#packets = new PacketSizes(bounds.maxPacketBytes);
    inner.on('data', (chunk: Buffer) => {
      const tooLarge = this.#packets.scan(chunk);
      if (tooLarge !== undefined) {
        this.#exceed(
          new ConnectionBoundExceeded(
            `MQTT packet of ${tooLarge} bytes exceeds the limit of ${bounds.maxPacketBytes}`,
            'packet',
          ),
        );
        return;
      }
      if (!this.push(chunk)) inner.pause();
    });
    inner.once('end', () => this.push(null));
    inner.once('error', (error: Error) => this.destroy(error));
    inner.once('close', () => this.destroy());
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.#inner.destroyed) {
      callback(new Error('connection closed'));
      return;
    }
    this.#inner.write(chunk);
    callback();
    const buffered = this.#inner.writableLength;
    if (buffered > this.#bounds.maxOutgoingBytes) {
      this.#exceed(
        new ConnectionBoundExceeded(
          `the client does not read: ${buffered} bytes wait for it (limit ${this.#bounds.maxOutgoingBytes})`,
          'outgoing',
        ),
      );
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#inner.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner.destroy();
    callback(error);
  }

  #exceed(error: ConnectionBoundExceeded): void {
    if (this.destroyed) return;
    this.#onExceeded(error);
    this.destroy(error);
  }
}

/**
 * Follows MQTT packet boundaries in a byte stream: a type byte, the remaining length (1 to 4
 * bytes of 7 bits, least significant first), then that many bytes.
 */
class PacketSizes {
  readonly #max: number;
  /** Bytes of the current packet's body still to skip. */
  #skip = 0;
  /** Reading a fixed header: -1 before its type byte, else the remaining-length bytes read so far. */
  #lengthBytes = -1;
  #length = 0;
  #inHeader = false;

  constructor(max: number) {
    this.#max = max;
  }

  /** The announced size of a packet over the limit, if this chunk starts one. */
  scan(chunk: Buffer): number | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const taken = Math.min(this.#skip, chunk.length - at);
        this.#skip -= taken;
        at += taken;
        continue;
      }
      if (!this.#inHeader) {
        this.#inHeader = true;
        this.#lengthBytes = 0;
        this.#length = 0;
        at++;
        continue;
      }
      const byte = chunk[at++]!;
      this.#length += (byte & 0x7f) * 128 ** this.#lengthBytes;
      this.#lengthBytes++;
      if (byte & 0x80 && this.#lengthBytes < 4) continue;
      // A 5th length byte is malformed: mqtt-packet rejects it; treat the packet as its announced size.
      const packetBytes = 1 + this.#lengthBytes + this.#length;
      if (packetBytes > this.#max) return packetBytes;
      this.#inHeader = false;
      this.#skip = this.#length;
    }
    return undefined;
  }
}
