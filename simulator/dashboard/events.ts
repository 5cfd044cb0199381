// What the live dashboard is told: one DashboardEvent per device introduction, summary entry, rare event
// or status, plus fleet-wide counters. Plain data (JSON as is; NaN becomes null on the wire). Pure
// declarations, shared by the store, the server and the adapter; the page (page/app.js) reads the same
// shapes.

export interface DashboardChannel {
  id: number;
  name: string;
  unit: string;
  /** A rare channel reports events (a button, a threshold), not summaries. */
  rare: boolean;
}

export const DASHBOARD_EVENT_KINDS = ["ALERT_HIGH", "ALERT_LOW", "CLEAR", "VALUE", "FAULT", "FAULT_CLEARED", "RESET"] as const;
export type DashboardEventKind = (typeof DASHBOARD_EVENT_KINDS)[number];

/** All times `t` are device (virtual) time in ms. */
export interface HelloEvent {
  kind: "hello"; device: number; t: number; firmware: string; board: string; channels: DashboardChannel[];
}
export interface SummaryEvent {
  kind: "summary"; device: number; t: number; channel: number;
  count: number; min: number; max: number; mean: number; std: number; last: number;
}
export interface DeviceEvent {
  kind: "event"; device: number; t: number; channel: number; event: DashboardEventKind; value: number; code: number;
}
export interface StatusEvent {
  kind: "status"; device: number; t: number; samples: number; dropped: number; faults: number;
  framesSent: number; resets: number; sleeping: boolean;
}
export interface FleetEvent {
  kind: "fleet"; t: number; devices: number; framesPerSecond: number; alerts: number; faults: number; resets: number;
}

export type DashboardEvent = HelloEvent | SummaryEvent | DeviceEvent | StatusEvent | FleetEvent;
