import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCodeName } from '../../errors.js';

/**
 * The admin API's HTTP plumbing: a typed error that carries its status and stable code, a
 * bounded JSON body reader and the JSON writer. Nothing here knows about the hub.
 */

export type AdminErrorCode = Extract<ErrorCodeName, `ADMIN_${string}`>;

/** An admin request refused with an HTTP status and a stable ADMIN_* code (docs/ERRORS.md). */
export class AdminError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export const badRequest = (message: string): AdminError =>
  new AdminError(400, 'ADMIN_BAD_REQUEST', message);
export const notFound = (message: string): AdminError =>
  new AdminError(404, 'ADMIN_NOT_FOUND', message);
export const conflict = (message: string): AdminError =>
  new AdminError(409, 'ADMIN_CONFLICT', message);
export const unavailable = (message: string): AdminError =>
  new AdminError(503, 'ADMIN_UNAVAILABLE', message);

/** Request bodies are small JSON objects; anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = 16 * 1024;

/** What a handler answers: JSON by default, or text (metrics, the dashboard page). */
export interface AdminReply {
  status?: number;
  body?: unknown;
  text?: { contentType: string; content: string };
  headers?: Readonly<Record<string, string>>;
}

/**
 * Reads the request body, at most MAX_BODY_BYTES, and parses it as JSON. An empty body is
 * `undefined`. A body must say `content-type: application/json`.
 */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const declared = request.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    request.resume();
    throw new AdminError(413, 'ADMIN_BAD_REQUEST', `request body above ${MAX_BODY_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        request.resume();
        throw new AdminError(
          413,
          'ADMIN_BAD_REQUEST',
          `request body above ${MAX_BODY_BYTES} bytes`,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof AdminError) throw error;
    // The client went away mid-body: its fault, not the hub's (no 500, no error log).
    throw badRequest('the request body was cut short');
  }
  if (size === 0) return undefined;
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new AdminError(415, 'ADMIN_BAD_REQUEST', 'a request body must be application/json');
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** bigint never reaches JSON.stringify by design, but a stray one becomes a string, not a crash. */
const jsonReplacer = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? value.toString() : value;

export function writeReply(response: ServerResponse, reply: AdminReply): number {
  const status = reply.status ?? 200;
  const headers: Record<string, string> = { ...COMMON_HEADERS, ...reply.headers };
  let content: string;
  if (reply.text !== undefined) {
    headers['content-type'] = reply.text.contentType;
    content = reply.text.content;
  } else {
    headers['content-type'] = 'application/json; charset=utf-8';
    content = `${JSON.stringify(reply.body ?? {}, jsonReplacer)}\n`;
  }
  headers['content-length'] = String(Buffer.byteLength(content));
  response.writeHead(status, headers);
  response.end(content);
  return status;
}

export function errorReply(error: AdminError): AdminReply {
  return {
    status: error.httpStatus,
    headers: error.headers,
    body: { error: { code: error.code, message: error.message } },
  };
}
