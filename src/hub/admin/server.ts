import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FarthingError } from '../../errors.js';
import type { Hub } from '../hub.js';
import { silentLogger, type HubLogger } from '../ports.js';
import { registerApi, voucherCounts, type RateName } from './api.js';
import { BearerToken } from './auth.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './dashboard-page.js';
import { AdminError, errorReply, readJsonBody, writeReply, type AdminReply } from './http.js';
import { RateWindow } from './rates.js';
import { methodNotAllowed, Router, type AdminRequest } from './router.js';

/** What the admin server needs from the metrics registry (src/hub/metrics.ts). */
export interface MetricsText {
  readonly contentType: string;
  text(): Promise<string>;
}

export interface AdminServerOptions {
  hub: Hub;
  /** Loopback by default; the API can close channels, so keep it off public interfaces. */
  host: string;
  /** 0 picks a free port (see `port` on the result). */
  port: number;
  /** The bearer token (the data directory's admin.token). */
  token: string;
  logger?: HubLogger;
  metrics?: MetricsText;
  /** Deposits come from external/<depositRail>; default 'deposits'. */
  depositRail?: string;
}

export interface AdminServer {
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The hub's admin HTTP API (node:http, no framework). JSON everywhere, errors as
 * `{ "error": { "code": "ADMIN_…", "message": "…" } }`. Auth: every /api route and /metrics need
 * `Authorization: Bearer <admin.token>`; /health, /ready and the dashboard page (`/`, which asks
 * for the token and sends it on each of its API calls) do not.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { hub } = options;
  const logger = options.logger ?? silentLogger;
  const token = new BearerToken(options.token);
  const rates = new RateWindow<RateName>(() => voucherCounts(hub), 5);
  const router = new Router();

  router
    .add('GET', '/health', () => ({ body: { ok: true } }), { auth: false })
    .add(
      'GET',
      '/ready',
      () => {
        const ready = hub.running && hub.brokerConnected;
        return {
          status: ready ? 200 : 503,
          body: { ready, running: hub.running, brokerConnected: hub.brokerConnected },
        };
      },
      { auth: false },
    )
    .add(
      'GET',
      '/',
      () => ({
        text: { contentType: 'text/html; charset=utf-8', content: DASHBOARD_HTML },
        headers: {
          'content-security-policy': DASHBOARD_CSP,
          'x-frame-options': 'DENY',
        },
      }),
      { auth: false },
    )
    .add(
      'GET',
      '/favicon.ico',
      () => ({ status: 204, text: { contentType: 'image/x-icon', content: '' } }),
      {
        auth: false,
      },
    )
    .add('GET', '/metrics', async () => {
      if (options.metrics === undefined)
        throw new AdminError(404, 'ADMIN_NOT_FOUND', 'metrics are off');
      return {
        text: { contentType: options.metrics.contentType, content: await options.metrics.text() },
      };
    });
  registerApi(router, { hub, rates, depositRail: options.depositRail ?? 'deposits' });

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = request.method ?? 'GET';
    // Only the path is logged: never the query, and never a header (Authorization).
    let path = '/';
    let status: number;
    try {
      const url = requestTarget(request.url);
      path = url.pathname;
      const reply = await route(method, url, request);
      status = writeReply(response, reply);
    } catch (error) {
      let adminError: AdminError;
      if (error instanceof AdminError) {
        adminError = error;
      } else {
        logger.error({ err: error, method, path }, 'admin request failed');
        adminError = new AdminError(
          500,
          'ADMIN_INTERNAL',
          'the hub failed to handle the request; see its log',
        );
      }
      status = response.headersSent ? 500 : writeReply(response, errorReply(adminError));
      if (!response.writableEnded) response.end();
    }
    logger.debug(
      { method, path, status, ms: Math.round((performance.now() - started) * 1000) / 1000 },
      'admin request',
    );
  };

  const route = async (method: string, url: URL, request: IncomingMessage): Promise<AdminReply> => {
    const match = router.match(method, url.pathname);
    if (match.kind === 'not-found')
      throw new AdminError(404, 'ADMIN_NOT_FOUND', `no such endpoint ${url.pathname}`);
    if (match.kind === 'method-not-allowed') throw methodNotAllowed(match.allowed);
    if (match.auth && !token.accepts(request.headers.authorization)) {
      request.resume();
      throw new AdminError(
        401,
        'ADMIN_UNAUTHORIZED',
        'missing or wrong bearer token (see admin.token in the data directory)',
        {
          'www-authenticate': 'Bearer realm="farthing"',
        },
      );
    }
    const adminRequest: AdminRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      params: match.params,
      body: () => readJsonBody(request),
    };
    return match.handler(adminRequest);
  };

  const server: Server = createServer((request, response) => {
    void handle(request, response);
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 64;

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      reject(
        error.code === 'EADDRINUSE'
          ? new FarthingError(
              'ADMIN_PORT_IN_USE',
              `the admin address ${options.host}:${options.port} is in use`,
              { cause: error },
            )
          : new FarthingError(
              'CONFIG_INVALID',
              `the admin API cannot listen on ${options.host}:${options.port}`,
              { cause: error },
            ),
      );
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: error }, 'admin server error'));
  rates.start(1000);

  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${address.port}`,
    host: address.address,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        rates.stop();
        server.close(() => resolve());
        // Idle keep-alive connections (a dashboard, a CLI) would hold close() open.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}

/**
 * The request target, which must be a path (origin form). A target starting with `//` would
 * parse as `//authority/path` and serve a route other than the one a proxy in front matched on;
 * one that does not parse at all is the client's fault, not the hub's.
 */
function requestTarget(target = '/'): URL {
  const malformed = (): AdminError =>
    new AdminError(400, 'ADMIN_BAD_REQUEST', 'the request target must be a path');
  if (!target.startsWith('/') || target.startsWith('//')) throw malformed();
  try {
    return new URL(`http://admin.invalid${target}`);
  } catch {
    throw malformed();
  }
}
