// The simulator's live dashboard server (`iotfw simulate --dashboard [port]`), on node:http alone:
//   GET  /                 the page (simulator/dashboard/page/, read from disk under REPO_ROOT so it
//                          works from dist/ too)
//   GET  /events?devices=  Server-Sent Events: first a `snapshot` event (the /state object plus this
//                          client's session id), then every flushMs one message holding a Batch of
//                          DashboardEvents. Summaries only for the devices listed ("all", "none" or
//                          "1,2,3"; default all).
//   POST /subscribe?session=&devices=  change which devices' summaries a client receives; answers with
//                          their stored series, so a newly charted device has its history at once.
//   GET  /state?devices=   JSON snapshot (devices, recent events, fleet counters, series of the devices
//                          listed; default the first STATE_DEFAULT_DEVICES ids, "all" for every one).
// Touches only the network socket it listens on and reads page/.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "../../host/repo-root.js";
import { ClientQueue, DEFAULT_QUEUE_LIMITS, type ClientQueueLimits, type Subscription } from "./client-queue.js";
import type { DashboardEvent } from "./events.js";
import { DashboardStore, type StoreLimits } from "./store.js";

export type { DashboardEvent, DashboardChannel, DashboardEventKind } from "./events.js";

export const PAGE_DIR = join(REPO_ROOT, "simulator", "dashboard", "page");
/** Devices whose series /state includes when the request names none. */
export const STATE_DEFAULT_DEVICES = 50;
const DEFAULT_FLUSH_MS = 200;
/** An SSE comment this often keeps idle connections (and proxies) from timing out. */
const KEEPALIVE_MS = 15_000;

/** The files the page is made of; nothing else on disk is served. */
const PAGE_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/chart.js": { file: "chart.js", type: "text/javascript; charset=utf-8" },
  "/dashboard.css": { file: "dashboard.css", type: "text/css; charset=utf-8" },
};
// The page loads nothing from elsewhere (the machines are offline) and runs no inline script.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

export interface DashboardOptions {
  /** 0: any free port. */
  port: number;
  /** Interface to bind; default loopback. */
  host?: string;
  /** How often queued events are written to each client. */
  flushMs?: number;
  limits?: Partial<StoreLimits>;
  queueLimits?: ClientQueueLimits;
}

export interface DashboardStats {
  clients: number;
  /** Clients currently held to latest-per-series because they read too slowly. */
  compactedClients: number;
  /** Events waiting in the fullest client queue. */
  maxPending: number;
  published: number;
}

export interface Dashboard {
  url: string;
  publish(e: DashboardEvent): void;
  close(): Promise<void>;
  stats(): DashboardStats;
}

interface Client {
  session: number;
  res: ServerResponse;
  queue: ClientQueue;
  lastWriteMs: number;
}

class BadRequest extends Error {}

/** "all" | "none" | "1,2,3" -> a subscription; undefined when absent. */
export function parseDevices(text: string | null): Subscription | undefined {
  if (text === null) return undefined;
  if (text === "all") return "all";
  if (text === "none" || text === "") return new Set();
  const ids = text.split(",").map((s) => Number(s.trim()));
  if (ids.some((n) => !Number.isInteger(n) || n < 0 || n > 0xffffffff)) throw new BadRequest(`devices takes all, none or ids like 1,2,3, not "${text}"`);
  return new Set(ids);
}

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost";
}

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const bindHost = opts.host ?? "127.0.0.1";
  const flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
  const store = new DashboardStore(opts.limits);
  const clients = new Map<number, Client>();
  let nextSession = 1;
  let published = 0;

  const json = (res: ServerResponse, status: number, body: unknown) => {
    // JSON.stringify writes NaN and infinities as null: the missing statistics of an empty window.
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Bound to loopback, answer only to loopback names: a web page elsewhere cannot rebind its own
    // domain name to 127.0.0.1 and read the fleet through the user's browser.
    const hostname = (req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (isLoopback(bindHost) && !isLoopback(hostname)) return json(res, 403, { error: "unexpected Host header" });
    const url = new URL(req.url ?? "/", "http://dashboard");
    const page = PAGE_FILES[url.pathname];
    if (page && req.method === "GET") {
      const body = await readFile(join(PAGE_DIR, page.file));
      res.writeHead(200, { "Content-Type": page.type, "Cache-Control": "no-cache", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff" });
      res.end(body);
      return;
    }
    const devices = parseDevices(url.searchParams.get("devices"));
    if (url.pathname === "/state" && req.method === "GET") {
      const ids = [...store.devices.keys()].sort((a, b) => a - b).slice(0, STATE_DEFAULT_DEVICES);
      return json(res, 200, store.snapshot(devices ?? ids));
    }
    if (url.pathname === "/events" && req.method === "GET") return openStream(res, devices ?? "all");
    if (url.pathname === "/subscribe" && req.method === "POST") {
      const client = clients.get(Number(url.searchParams.get("session")));
      if (!client) return json(res, 404, { error: "no such session (reconnect /events)" });
      if (!devices) throw new BadRequest("subscribe needs devices=");
      client.queue.subscription = devices;
      return json(res, 200, { series: store.seriesOf(devices) });
    }
    if (page || ["/state", "/events", "/subscribe"].includes(url.pathname)) return json(res, 405, { error: "method not allowed" });
    json(res, 404, { error: "not found" });
  };

  const openStream = (res: ServerResponse, subscription: Subscription) => {
    const session = nextSession++;
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
      Connection: "keep-alive", "X-Accel-Buffering": "no",
    });
    res.socket?.setNoDelay(true);
    const snapshot = { session, ...store.snapshot(subscription) };
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
    const client: Client = { session, res, queue: new ClientQueue(subscription, opts.queueLimits ?? DEFAULT_QUEUE_LIMITS), lastWriteMs: Date.now() };
    clients.set(session, client);
    res.on("close", () => clients.delete(session)); // the browser left (or the socket broke)
  };

  const flush = () => {
    const now = Date.now();
    for (const client of clients.values()) {
      const { res, queue } = client;
      // The socket has not taken the previous batch yet: hold this client to the latest per series.
      if (res.writableNeedDrain) { queue.compact(); continue; }
      const batch = queue.take();
      if (batch) res.write(`data: ${JSON.stringify(batch)}\n\n`);
      else if (now - client.lastWriteMs >= KEEPALIVE_MS) res.write(": keepalive\n\n");
      else continue;
      client.lastWriteMs = now;
    }
  };
  const timer = setInterval(flush, flushMs);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) { res.destroy(); return; }
      if (err instanceof BadRequest) json(res, 400, { error: err.message });
      else json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, bindHost, () => { server.off("error", reject); resolve(); });
  });
  const { port } = server.address() as AddressInfo;
  // An unspecified address listens everywhere, loopback included: hand out a URL that opens here.
  const shown = bindHost === "0.0.0.0" || bindHost === "::" ? "127.0.0.1" : bindHost;
  const url = `http://${shown.includes(":") ? `[${shown}]` : shown}:${port}/`;

  return {
    url,
    publish(e: DashboardEvent): void {
      published++;
      store.add(e);
      for (const client of clients.values()) client.queue.push(e);
    },
    stats(): DashboardStats {
      let compactedClients = 0, maxPending = 0;
      for (const c of clients.values()) {
        if (c.queue.isCompacted) compactedClients++;
        maxPending = Math.max(maxPending, c.queue.pending);
      }
      return { clients: clients.size, compactedClients, maxPending, published };
    },
    async close(): Promise<void> {
      clearInterval(timer);
      for (const c of clients.values()) c.res.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
