// The bridge's local HTTP API (docs/bridge.md "HTTP API"): GET /health and GET /metrics (Prometheus text)
// open to whoever can reach the port (loopback by default); GET /devices and POST /devices/<id>/control
// need the bearer token the bridge generated at start. May touch: the port it binds.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { CommandError, parseCommand } from "./commands.js";
import { ControlError, type ControlResult } from "./devices.js";
import { parseDeviceName } from "./records.js";

export interface ApiHandlers {
  health(): { ok: boolean } & Record<string, unknown>;
  metrics(): string;
  devices(): unknown;
  control(device: number, command: ReturnType<typeof parseCommand>, timeoutMs: number): Promise<ControlResult>;
}

const STATUS_BY_FAILURE = { unknown: 404, offline: 409, timeout: 504 } as const;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === "string" ? body : JSON.stringify(body) + "\n";
  res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain; version=0.0.4; charset=utf-8" : "application/json" });
  res.end(text);
}

async function readBody(req: IncomingMessage, max = 64 * 1024): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new CommandError(`request body over ${max} bytes`);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString("utf8");
}

export class Api {
  private server: Server | null = null;

  constructor(private readonly token: string, private readonly handlers: ApiHandlers) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((req, res) => void this.handle(req, res).catch((e) => send(res, 500, { ok: false, error: String(e) })));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(new Error(e.code === "EADDRINUSE" ? `--http ${host}:${port} is in use` : e.message)));
      server.listen(port, host, () => resolve());
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
    const url = new URL(req.url ?? "/", "http://bridge");
    if (req.method === "GET" && url.pathname === "/health") {
      const h = this.handlers.health();
      return send(res, h.ok ? 200 : 503, h);
    }
    if (req.method === "GET" && url.pathname === "/metrics") return send(res, 200, this.handlers.metrics());
    if (!this.authorized(req)) return send(res, 401, { ok: false, error: "missing or wrong token (Authorization: Bearer <token>; see the bridge's ctl.json)" });
    if (req.method === "GET" && url.pathname === "/devices") return send(res, 200, { ok: true, devices: this.handlers.devices() });
    const m = /^\/devices\/([^/]+)\/control$/.exec(url.pathname);
    if (req.method === "POST" && m) {
      const device = parseDeviceName(decodeURIComponent(m[1]));
      if (device === null) return send(res, 400, { ok: false, error: `"${m[1]}" is not a device id (8 hex digits, e.g. 00c0ffee)` });
      let command;
      let timeoutMs = 5000;
      try {
        const body = JSON.parse((await readBody(req)) || "null") as Record<string, unknown> | null;
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
    return send(res, 404, { ok: false, error: `no route ${req.method} ${url.pathname}` });
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
