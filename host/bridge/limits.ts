// The bridge's limits against abuse (docs/bridge.md "Limits", issue 11): caps on TCP connections, on
// device ids in total and per link, an idle timeout for TCP connections and a garbage budget per
// connection. This file holds the settings with their defaults, the device-id admission the bridge asks
// before it takes a frame, and "log once" per limit (a flood must not flood the log too; the metrics
// count every hit). TcpInput (inputs.ts) enforces the connection limits. May touch: reads
// /proc/self/limits (Linux) to warn when the descriptor limit is below the connection cap.
import { readFileSync } from "node:fs";
import type { DeviceLink } from "./devices.js";
import type { Metrics } from "./metrics.js";

export interface LimitOptions {
  /** Open TCP connections at once; one more is closed as soon as it is accepted. */
  maxConnections?: number;
  /** Distinct device ids heard since start; a frame from a new id past it is dropped. */
  maxDevices?: number;
  /** Distinct device ids on one link (TCP connection or serial port). */
  maxDevicesPerConnection?: number;
  /** A TCP connection that sends no byte for this long is closed; 0 = never. */
  idleTimeoutMs?: number;
  /** A TCP connection whose garbage since its last valid message passes this is closed; 0 = never. */
  maxGarbageBytes?: number;
  /** Frames read from TCP and waiting for their commit, over all connections, at which every
   *  connection stops reading until half of them are on disk (intake.ts); 0 = no bound. */
  maxPendingFrames?: number;
  /** Open connections to the HTTP API at once; one more is closed as soon as it is accepted. */
  maxHttpConnections?: number;
}

/** Sized for a Raspberry Pi with the usual 1024-descriptor limit: room is left for the spool, the
 *  upstreams and the HTTP API. Above what the tests and `iotfw simulate --bridge` open (one connection
 *  per device; host/bridge/stall.test.ts sends 3,000 device ids on one connection). */
export const LIMIT_DEFAULTS: Required<LimitOptions> = {
  maxConnections: 256,
  maxDevices: 10_000,
  maxDevicesPerConnection: 4096,
  idleTimeoutMs: 5 * 60_000,
  maxGarbageBytes: 1024 * 1024,
  // ~1 KiB of memory each while it waits (bytes, decoded frame, record): 16 MiB at most. At 30,000
  // frames/s that is half a second of a slow fdatasync before reading pauses (8,192 paused the
  // bench's 30,000 frames/s step on a busy machine); with commits every few ms, well over 100,000
  // frames/s into the spool.
  maxPendingFrames: 16_384,
  // A scraper, `iotfw ctl` and a dashboard need a few; each open one costs a descriptor and a parser.
  maxHttpConnections: 16,
};

/** Descriptors the bridge needs besides device and HTTP API connections (Node itself, spool, upstreams,
 *  listening sockets). */
const DESCRIPTOR_RESERVE = 32;

export class Limits {
  readonly settings: Required<LimitOptions>;
  private readonly heard = new Set<number>();
  private readonly perLink = new WeakMap<DeviceLink, Set<number>>();
  private readonly logged = new Set<string>();

  constructor(options: LimitOptions, private readonly metrics: Metrics, private readonly log: (line: string) => void) {
    const s = { ...LIMIT_DEFAULTS };
    for (const k of Object.keys(s) as Array<keyof LimitOptions>) {
      const v = options[k];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${k} must be a whole number >= 0, got ${v}`);
      s[k] = v;
    }
    this.settings = s;
    metrics.gauge("iotfw_bridge_devices_heard", "Distinct device ids heard since start (capped by --max-devices).", () => this.heard.size);
  }

  /** Log a limit's first hit only; later hits are in the metrics. */
  once(limit: string, line: string): void {
    if (this.logged.has(limit)) return;
    this.logged.add(limit);
    this.log(`${line} (logged once; every hit is counted in /metrics)`);
  }

  /** A connection closed on accept (over a cap, or accept failed). */
  refused(reason: "connection_limit" | "accept_failed" | "http_connection_limit"): void {
    this.metrics.connectionsRefused.inc(reason);
  }

  /** A connection to the HTTP API closed on accept: --max-http-connections were open. */
  httpRefused(from: string | undefined): void {
    this.refused("http_connection_limit");
    this.once("http-connections", `HTTP API: connection from ${from ?? "?"} closed: ${this.settings.maxHttpConnections} connections open (--max-http-connections)`);
  }

  /** A TCP connection the bridge closed because of a limit. */
  closed(reason: "idle" | "garbage"): void {
    this.metrics.connectionsClosed.inc(reason);
  }

  /** May a frame from `device` on `link` be taken? A new id past a cap is refused and counted. */
  admitDevice(link: DeviceLink, device: number): boolean {
    let mine = this.perLink.get(link);
    if (mine?.has(device)) return true;
    const s = this.settings;
    if ((mine?.size ?? 0) >= s.maxDevicesPerConnection) {
      this.metrics.rejected.inc("connection_device_limit");
      this.once("per-link", `${link.id}: more than ${s.maxDevicesPerConnection} device ids on one link (--max-devices-per-connection); frames from further ids dropped`);
      return false;
    }
    if (!this.heard.has(device)) {
      if (this.heard.size >= s.maxDevices) {
        this.metrics.rejected.inc("device_limit");
        this.once("devices", `more than ${s.maxDevices} device ids (--max-devices); frames from further ids dropped`);
        return false;
      }
      this.heard.add(device);
    }
    if (!mine) this.perLink.set(link, (mine = new Set()));
    mine.add(device);
    return true;
  }

  /** Warn at start when the process may run out of descriptors before the connection cap. */
  checkDescriptors(): void {
    let soft: number;
    try {
      const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
      if (!m || m[1] === "unlimited") return;
      soft = Number(m[1]);
    } catch { return; } // not Linux: nothing to check
    const { maxConnections, maxHttpConnections } = this.settings;
    const need = maxConnections + maxHttpConnections + DESCRIPTOR_RESERVE;
    if (soft < need) {
      this.log(`the descriptor limit (ulimit -n ${soft}) is below --max-connections ${maxConnections} + --max-http-connections ${maxHttpConnections} + ${DESCRIPTOR_RESERVE} for the bridge itself: lower them or raise the limit`);
    }
  }
}
