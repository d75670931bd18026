import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * MQTT packet-size enforcement in front of aedes. aedes 1.x has no maximum packet size: its
 * parser (mqtt-packet) buffers a whole packet, whatever the remaining length announced, before
 * it hands it over. So every connection's bytes pass through a scanner that reads only the
 * fixed headers (type byte + remaining-length varint, MQTT 3.1.1 §2.2) and skips bodies. The
 * moment a header announces a packet above the limit, the connection is destroyed: the
 * offending packet's body is never buffered, and the scanner's state is a few integers, so
 * memory per connection is bounded by the stream's high-water mark whatever a client sends.
 */

export type FrameViolation = 'oversize' | 'malformed-length';

export class FixedHeaderScanner {
  private phase: 'type' | 'length' | 'body' = 'type';
  private remaining = 0;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(readonly maxPacketBytes: number) {
    if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < 2)
      throw new RangeError('maxPacketBytes must be an integer >= 2');
  }

  /** Advances over `chunk`; a violation anywhere in it is reported before any byte is passed on. */
  scan(chunk: Uint8Array): FrameViolation | undefined {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.phase === 'type') {
        this.phase = 'length';
        this.remaining = 0;
        this.lengthBytes = 0;
        i++;
      } else if (this.phase === 'length') {
        const byte = chunk[i++]!;
        this.remaining += (byte & 0x7f) * 128 ** this.lengthBytes;
        this.lengthBytes++;
        if ((byte & 0x80) !== 0) {
          // The varint is at most 4 bytes (MQTT 3.1.1 §2.2.3).
          if (this.lengthBytes === 4) return 'malformed-length';
          continue;
        }
        if (1 + this.lengthBytes + this.remaining > this.maxPacketBytes) return 'oversize';
        this.bodyLeft = this.remaining;
        this.phase = this.bodyLeft === 0 ? 'type' : 'body';
      } else {
        const skip = Math.min(this.bodyLeft, n - i);
        i += skip;
        this.bodyLeft -= skip;
        if (this.bodyLeft === 0) this.phase = 'type';
      }
    }
    return undefined;
  }
}

/**
 * A Duplex over a TCP socket that passes bytes to the broker only after the scanner has seen
 * their headers. Backpressure is kept: the socket pauses while the broker is not reading.
 */
export class GuardedConnection extends Duplex {
  private readonly scanner: FixedHeaderScanner;

  constructor(
    private readonly socket: Socket,
    maxPacketBytes: number,
    private readonly onViolation: (violation: FrameViolation) => void,
  ) {
    super({ allowHalfOpen: false });
    this.scanner = new FixedHeaderScanner(maxPacketBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  private onData(chunk: Buffer): void {
    if (this.destroyed) return;
    const violation = this.scanner.scan(chunk);
    if (violation !== undefined) {
      this.onViolation(violation);
      this.socket.destroy();
      this.destroy();
      return;
    }
    if (!this.push(chunk)) this.socket.pause();
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.socket.write(chunk, callback);
  }

  override _writev(
    chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>,
    callback: (error?: Error | null) => void,
  ): void {
    // One syscall for the packets aedes queued while the previous write was in flight.
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!.chunk);
    this.socket.write(chunks[chunks.length - 1]!.chunk, callback);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
