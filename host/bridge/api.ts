// The bridge's local HTTP API (docs/bridge.md "HTTP API"): GET /health and GET /metrics (Prometheus text)
// open to whoever can reach the port (loopback by default); GET /devices and POST /devices/<id>/control
// and POST /query (the edge store, read-only SQL) need the bearer token the bridge generated at start. Client input never makes a 500 (issue 11): a bad
// request target or percent-encoding is 400, a body is refused (401 without the token, 413 over
// BODY_MAX) from its headers, without reading it, and that connection is closed; open connections are
// capped (docs/bridge.md "Limits").
// May touch: the port it binds.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { parseCommand } from "./commands.js";
import { ControlError, type ControlResult } from "./devices.js";
import { parseDeviceName } from "./records.js";
import type { QueryResult } from "../store/query-result.js";

export interface ApiHandlers {
  health(): { ok: boolean } & Record<string, unknown>;
  metrics(): string;
  devices(): unknown;
  control(device: number, command: ReturnType<typeof parseCommand>, timeoutMs: number): Promise<ControlResult>;
  /** POST /query (--store): one read-only statement; rejects with a StoreError (400) for a refused or
   *  wrong statement. Absent without a store (404). */
  query?(sql: string, limit: number): Promise<QueryResult>;
  log?(line: string): void;
  /** Open connections at once (docs/bridge.md "Limits"); one more is closed as soon as it is accepted
   *  and reported to connectionRefused. 0 or absent: no cap. */
  maxConnections?: number;
  connectionRefused?(remoteAddress: string | undefined): void;
}

/** The largest request body read (a control command is a few dozen bytes). */
export const BODY_MAX = 64 * 1024;
/** How long a refused request's connection stays half-open (reading stopped) so the client can read the
 *  answer before the close: closing at once with unread data sends a reset that may destroy it. */
const LINGER_MS = 1000;

/** A client error: answered with its status, never a 500. */
class RequestError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

const STATUS_BY_FAILURE = { unknown: 404, offline: 409, timeout: 504 } as const;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body) + "\n";
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain; version=0.0.4; charset=utf-8" : "application/json" });
  res.end(text);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** Answer without reading the rest of the request body, then close the connection. Node would otherwise
 *  drain the body to keep the connection alive: whoever can reach the port could make us read 200 MB. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  const socket = req.socket;
  // read(0) marks the request as being consumed, so Node does not drain ("dump") it after the answer;
  // with nobody reading it, the parser stops reading the socket once its small buffer is full.
  req.pause();
  req.read(0);
  res.shouldKeepAlive = false;
  // Node ends a "Connection: close" socket with destroySoon(), which resets it as soon as our FIN is
  // out (unread data is waiting): linger instead, half-closed and not reading, then destroy.
  socket.destroySoon = () => { socket.end(); setTimeout(() => socket.destroy(), LINGER_MS).unref(); };
  res.once("finish", () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
  send(res, status, body);
}

async function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > BODY_MAX) {
    refuse(req, res, 413, { ok: false, error: `request body of ${declared} bytes is over ${BODY_MAX}` });
    return null;
  }
  // Events, not for-await: leaving a for-await early destroys the request and with it the socket,
  // before the client could read the 413.
  return new Promise<string | null>((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= BODY_MAX) { parts.push(chunk); return; }
      req.off("data", onData).off("end", onEnd); // chunked, so no length was declared
      refuse(req, res, 413, { ok: false, error: `request body over ${BODY_MAX} bytes` });
      resolve(null);
    };
    const onEnd = () => resolve(Buffer.concat(parts).toString("utf8"));
    req.on("data", onData).once("end", onEnd).once("error", reject);
  });
}

/** The request target: origin-form only ("/path?query"); absolute-form, "*" and garbage are 400. */
function parseTarget(raw: string | undefined): { pathname: string } {
  if (!raw || raw[0] !== "/" || raw.startsWith("//")) throw new RequestError(400, `request target ${JSON.stringify(raw ?? "")} is not a path (origin-form, e.g. /health)`);
  let url: URL;
  try { url = new URL(raw, "http://bridge"); } catch { throw new RequestError(400, `request target ${JSON.stringify(raw)} is not a valid path`); }
  return { pathname: url.pathname };
}

export class Api {
  private server: Server | null = null;

  constructor(private readonly token: string, private readonly handlers: ApiHandlers) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((req, res) => void this.handle(req, res).catch((e) => {
      if (res.headersSent) { res.destroy(); return; }
      if (e instanceof RequestError) return refuse(req, res, e.status, { ok: false, error: e.message });
      send(res, 500, { ok: false, error: String(e) }); // ours, not the client's
    }));
    // Whoever reaches the port could otherwise hold descriptors until the bridge has none left for its
    // devices: past the cap Node closes a new connection at once and says so with "drop".
    const cap = this.handlers.maxConnections ?? 0;
    if (cap > 0) {
      server.maxConnections = cap;
      server.on("drop", (d) => this.handlers.connectionRefused?.(d?.remoteAddress));
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code === "EADDRINUSE" ? `--http ${host}:${port} is in use` : e.message)));
      server.listen(port, host, () => resolve());
    });
    // An accept that fails later (EMFILE: out of descriptors) must not end the bridge.
    let warned = false;
    server.on("error", (e: NodeJS.ErrnoException) => {
      if (!warned) this.handlers.log?.(`HTTP API: accepting a connection failed: ${e.code ?? e.message} (logged once)`);
      warned = true;
    });
    return server.address() as AddressInfo;
  }

  private authorized(req: IncomingMessage): boolean {
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
    if (!m) return false;
    const a = Buffer.from(m[1]);
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseTarget(req.url);
    // Routes that take no body answer without reading one: a body there is refused with the answer.
    const answer = (status: number, body: unknown) => (hasBody(req) ? refuse(req, res, status, body) : send(res, status, body));
    if (req.method === "GET" && url.pathname === "/health") {
      const h = this.handlers.health();
      return answer(h.ok ? 200 : 503, h);
    }
    if (req.method === "GET" && url.pathname === "/metrics") return answer(200, this.handlers.metrics());
    if (!this.authorized(req)) return answer(401, { ok: false, error: "missing or wrong token (Authorization: Bearer <token>; see the bridge's ctl.json)" });
    if (req.method === "GET" && url.pathname === "/devices") return answer(200, { ok: true, devices: this.handlers.devices() });
    const m = /^\/devices\/([^/]+)\/control$/.exec(url.pathname);
    if (req.method === "POST" && m) {
      let name: string;
      try { name = decodeURIComponent(m[1]); } catch { throw new RequestError(400, `"${m[1]}" is not valid percent-encoding`); }
      const device = parseDeviceName(name);
      if (device === null) return answer(400, { ok: false, error: `${JSON.stringify(name)} is not a device id (8 hex digits, e.g. 00c0ffee)` });
      let command;
      let timeoutMs = 5000;
      const text = await readBody(req, res);
      if (text === null) return; // refused (413)
      try {
        const body = JSON.parse(text || "null") as Record<string, unknown> | null;
        command = parseCommand(body);
        if (body && body.timeoutMs !== undefined) timeoutMs = Math.min(60_000, Math.max(1, Number(body.timeoutMs) || 5000));
      } catch (e) {
        return send(res, 400, { ok: false, error: e instanceof Error ? e.message : String(e) });
      }
      try {
        const result = await this.handlers.control(device, command, timeoutMs);
        return send(res, 200, { ok: true, ...result });
      } catch (e) {
        if (e instanceof ControlError) return send(res, STATUS_BY_FAILURE[e.reason], { ok: false, reason: e.reason, error: e.message });
        throw e;
      }
    }
    if (req.method === "POST" && url.pathname === "/query") {
      if (!this.handlers.query) return answer(404, { ok: false, error: "this bridge keeps no store (start it with --store <dir>)" });
      const text = await readBody(req, res);
      if (text === null) return; // refused (413)
      let sql: unknown = text;
      let limit = 10_000;
      if ((req.headers["content-type"] ?? "").startsWith("application/json")) {
        let body: { sql?: unknown; limit?: unknown } | null;
        try { body = JSON.parse(text || "null") as typeof body; } catch (e) { return send(res, 400, { ok: false, error: `the body is not JSON: ${(e as Error).message}` }); }
        sql = body?.sql;
        if (body?.limit !== undefined) limit = Math.min(100_000, Math.max(1, Math.trunc(Number(body.limit)) || 10_000));
      }
      if (typeof sql !== "string" || sql.trim() === "") return send(res, 400, { ok: false, error: "give the SQL as the body, or as JSON {\"sql\": \"SELECT ...\"}" });
      try {
        return send(res, 200, { ok: true, ...(await this.handlers.query(sql, limit)) });
      } catch (e) {
        // The statement's fault (refused, or DuckDB's parser/binder/runtime error): the client's, a 400.
        return send(res, 400, { ok: false, error: (e instanceof Error ? e.message : String(e)).trim() });
      }
    }
    return answer(404, { ok: false, error: `no route ${req.method} ${url.pathname}` });
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
