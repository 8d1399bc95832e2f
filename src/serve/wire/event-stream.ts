import { crc32 } from 'node:zlib';

/**
 * The AWS event-stream framing (application/vnd.amazon.eventstream), big-endian:
 * [total length u32][headers length u32][prelude CRC32][headers][payload][message CRC32].
 * Only string headers (type 7) are written, which is all Bedrock uses.
 */

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const PRELUDE_BYTES = 12;
const CRC_BYTES = 4;
const STRING_HEADER_TYPE = 7;

export interface EventStreamMessage {
  headers: Record<string, string>;
  payload: Buffer;
}

export function encodeEventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Buffer {
  const headerParts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    if (nameBytes.length > 255) throw new RangeError(`event-stream header name too long: ${name}`);
    if (valueBytes.length > 65535) throw new RangeError(`event-stream header value too long: ${name}`);
    const part = Buffer.alloc(1 + nameBytes.length + 1 + 2 + valueBytes.length);
    let at = part.writeUInt8(nameBytes.length, 0);
    at += nameBytes.copy(part, at);
    at = part.writeUInt8(STRING_HEADER_TYPE, at);
    at = part.writeUInt16BE(valueBytes.length, at);
    valueBytes.copy(part, at);
    headerParts.push(part);
  }
  const headerBytes = Buffer.concat(headerParts);
  const total = PRELUDE_BYTES + headerBytes.length + payload.byteLength + CRC_BYTES;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, PRELUDE_BYTES);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(
    message,
    PRELUDE_BYTES + headerBytes.length,
  );
  message.writeUInt32BE(crc32(message.subarray(0, total - CRC_BYTES)), total - CRC_BYTES);
  return message;
}

/** An event of a modelled union member, e.g. `chunk`, `messageStart`, `contentBlockDelta`. */
export function encodeEvent(eventType: string, payload: unknown): Buffer {
  return encodeEventStreamMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify(payload)),
  );
}

/**
 * A modelled exception inside the stream. The SDK maps `:exception-type` to the union member, which is
 * camelCase (`modelStreamErrorException`); a PascalCase name is passed through camelCase first.
 */
export function encodeException(exceptionType: string, body: Record<string, unknown>): Buffer {
  return encodeEventStreamMessage(
    {
      ':exception-type': toCamelCase(exceptionType),
      ':content-type': 'application/json',
      ':message-type': 'exception',
    },
    Buffer.from(JSON.stringify(body)),
  );
}

/** An unmodelled error frame; the SDK raises it as an error named by `:error-code`. */
export function encodeError(errorCode: string, message: string): Buffer {
  return encodeEventStreamMessage(
    { ':error-code': errorCode, ':error-message': message, ':message-type': 'error' },
    Buffer.alloc(0),
  );
}

/** `ThrottlingException` → `throttlingException`; already camelCase names are unchanged. */
export function toCamelCase(name: string): string {
  return name.length === 0 ? name : name[0]!.toLowerCase() + name.slice(1);
}

/**
 * Decodes whole messages from a buffer, checking both CRCs. Throws on a bad CRC, an unsupported header
 * type or a truncated trailing frame. Used by tests and by tools that read emulator streams raw.
 */
export function decodeEventStreamMessages(bytes: Uint8Array): EventStreamMessage[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const messages: EventStreamMessage[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (buffer.length - offset < PRELUDE_BYTES) throw new Error('truncated event-stream prelude');
    const total = buffer.readUInt32BE(offset);
    const headersLength = buffer.readUInt32BE(offset + 4);
    if (crc32(buffer.subarray(offset, offset + 8)) !== buffer.readUInt32BE(offset + 8)) {
      throw new Error('event-stream prelude CRC mismatch');
    }
    if (buffer.length - offset < total) throw new Error('truncated event-stream message');
    const message = buffer.subarray(offset, offset + total);
    if (crc32(message.subarray(0, total - CRC_BYTES)) !== message.readUInt32BE(total - CRC_BYTES)) {
      throw new Error('event-stream message CRC mismatch');
    }
    const headers: Record<string, string> = {};
    let at = PRELUDE_BYTES;
    const headersEnd = PRELUDE_BYTES + headersLength;
    while (at < headersEnd) {
      const nameLength = message.readUInt8(at);
      const name = message.toString('utf8', at + 1, at + 1 + nameLength);
      at += 1 + nameLength;
      const type = message.readUInt8(at);
      if (type !== STRING_HEADER_TYPE) throw new Error(`unsupported event-stream header type ${type}`);
      const valueLength = message.readUInt16BE(at + 1);
      headers[name] = message.toString('utf8', at + 3, at + 3 + valueLength);
      at += 3 + valueLength;
    }
    messages.push({ headers, payload: Buffer.from(message.subarray(headersEnd, total - CRC_BYTES)) });
    offset += total;
  }
  return messages;
}
