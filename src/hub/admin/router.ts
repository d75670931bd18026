import { AdminError, badRequest, type AdminReply } from './http.js';

/** A parsed request as handlers see it. */
export interface AdminRequest {
  method: string;
  /** The path without the query, as received (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  /** Route parameters, percent-decoded. */
  params: Readonly<Record<string, string>>;
  /** The JSON body (read on demand, bounded); undefined when empty. */
  body(): Promise<unknown>;
}

export type Handler = (request: AdminRequest) => Promise<AdminReply> | AdminReply;

export interface RouteOptions {
  /** Whether the bearer token is required (default true). */
  auth?: boolean;
}

interface Route {
  method: string;
  segments: readonly string[];
  handler: Handler;
  auth: boolean;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; auth: boolean; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

const MAX_SEGMENTS = 16;

/**
 * A small router: literal segments and `:name` parameters, matched on the percent-encoded
 * path split at '/', so an encoded '/' (%2F) stays inside its parameter.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    this.routes.push({
      method,
      segments: splitPath(pattern),
      handler,
      auth: options.auth ?? true,
    });
    return this;
  }

  match(method: string, path: string): RouteMatch {
    const segments = splitPath(path);
    if (segments.length > MAX_SEGMENTS) return { kind: 'not-found' };
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      return { kind: 'found', handler: route.handler, auth: route.auth, params };
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

function splitPath(path: string): string[] {
  const parts = path.split('/').slice(1);
  // One trailing slash is tolerated: /api/status/ is /api/status.
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

function matchSegments(
  pattern: readonly string[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = segments[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      params[want.slice(1)] = decodeSegment(got);
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('the path is not valid percent-encoding');
  }
}

export function methodNotAllowed(allowed: string[]): AdminError {
  return new AdminError(405, 'ADMIN_BAD_REQUEST', `method not allowed; use ${allowed.join(', ')}`, {
    allow: allowed.join(', '),
  });
}
