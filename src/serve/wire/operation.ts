import { setImmediate as nextTick } from 'node:timers/promises';
import { EVENT_STREAM_CONTENT_TYPE, encodeException } from './event-stream.js';
import type { WireRequest, WireResponse } from './http-server.js';

/** A scripted in-stream failure: after `events` frames, a modelled exception instead of the rest. */
export interface StreamFailure {
  events: number;
  /** A member of the stream's own union (camelCase); undefined: the stream's usual failure. */
  exceptionType?: string | undefined;
  message: string;
}

/** One routed call, after authentication; the emulator adds fault switches, a server leaves them off. */
export interface WireOperationCall {
  request: WireRequest;
  response: WireResponse;
  /** Path labels, percent-decoded. */
  params: Record<string, string>;
  /** Answer 200 with an unparseable body or frame (emulator fault). */
  malformed?: boolean;
  /** Streams only: cut the stream with this exception (emulator fault). */
  streamFailure?: StreamFailure | undefined;
}

/** What a call is about, for request records and fault matching. */
export interface CallSubject {
  /** Ids a fault's matcher is tried against: model ids, knowledge base ids, data source ids. */
  ids: string[];
  modelId?: string;
  knowledgeBaseId?: string;
}

export interface WireOperation {
  readonly streaming: boolean;
  /** Reads what the call is about without failing on a bad body (that is reported by `run`). */
  subject?(request: WireRequest, params: Record<string, string>): CallSubject;
  run(call: WireOperationCall): Promise<void>;
}

/** (method, path pattern, operation name, implementation), as WireRouter.add takes them. */
export type WireRoute<O = WireOperation> = readonly [method: string, pattern: string, operation: string, O];

/** Half of the JSON text: what a body cut off mid-transfer looks like. */
export function truncatedJson(value: unknown): string {
  const json = JSON.stringify(value);
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}

/** Answers a JSON body, or a cut-off one when the call carries the malformed fault. */
export function sendJson(
  call: WireOperationCall,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (call.malformed) {
    call.response.send(status, { 'content-type': 'application/json', ...headers }, truncatedJson(body));
    return;
  }
  call.response.json(status, body, headers);
}

/**
 * Writes an event stream whose frames are produced while it is sent. The response head is written before
 * the first frame, so errors thrown before it become ordinary HTTP errors; an error after it becomes the
 * in-stream exception `streamError` returns. A scripted `streamFailure` cuts in after that many frames.
 */
export async function sendEventStreamFrames(
  call: WireOperationCall,
  headers: Record<string, string>,
  frames: AsyncIterable<Buffer>,
  streamError: (error: unknown) => Buffer,
  failureType = 'internalServerException',
): Promise<void> {
  const iterator = frames[Symbol.asyncIterator]();
  const first = await iterator.next();
  const stream = call.response.openStream(200, { 'content-type': EVENT_STREAM_CONTENT_TYPE, ...headers });
  const failure = call.streamFailure;
  let sent = 0;
  let step = first;
  try {
    while (!step.done) {
      if (stream.closed) return;
      if (failure && sent === failure.events) {
        await stream.write(
          encodeException(failure.exceptionType ?? failureType, { message: failure.message }),
        );
        return;
      }
      await stream.write(step.value);
      sent++;
      await nextTick(); // separate writes so clients see chunk boundaries like a real stream
      step = await iterator.next();
    }
    if (failure && !stream.closed) {
      await stream.write(encodeException(failure.exceptionType ?? failureType, { message: failure.message }));
    }
  } catch (error) {
    if (!stream.closed) await stream.write(streamError(error));
  } finally {
    if (!step.done) void Promise.resolve(iterator.return?.()).catch(() => {});
    stream.end();
  }
}
