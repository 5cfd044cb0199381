// The iotfw frame (version 1) as host-side types and constants: a discriminated union `Frame` with one
// member per frame type (docs/protocol.md). Pure declarations, shared by the codec, the link readers
// and the JSON view; mirrors firmware/core/frame/encoder.ts on the device side.

export const FRAME_VERSION = 1;
/** Whole frame, header to CRC. */
export const FRAME_MAX = 512;
export const HEADER_SIZE = 15;
export const CRC_SIZE = 4;
/** The smallest well-formed frame: a header, a one-byte payload (a control op without arguments), a CRC. */
export const FRAME_MIN = HEADER_SIZE + 1 + CRC_SIZE;
export const BROADCAST_DEVICE = 0xffffffff;
export const STRING_MAX_BYTES = 255;
export const APP_HASH_PREFIX_BYTES = 8;
/** The first HAL ABI whose HELLO carries a boot id (docs/protocol.md 0x01). */
export const HELLO_BOOT_ID_ABI = 2;
export const SUMMARY_ENTRY_SIZE = 23;
/** (512 - 15 header - 9 window fields - 4 CRC) / 23. */
export const SUMMARY_MAX_ENTRIES = 21;

/** Frame type byte by name. A reader rejects a type it does not know. */
export const FrameType = {
  hello: 0x01,
  summary: 0x02,
  event: 0x03,
  status: 0x04,
  log: 0x05,
  ack: 0x06,
  channels: 0x07,
  control: 0x10,
} as const;
export type FrameTypeName = keyof typeof FrameType;

/** Control op byte by name. A device rejects an op it does not know. */
export const ControlOp = {
  sleep: 0x01,
  wake: 0x02,
  set_window: 0x03,
  set_rate: 0x04,
  set_threshold: 0x05,
  set_deadband: 0x06,
  ping: 0x07,
  hello: 0x08,
} as const;
export type ControlOpName = keyof typeof ControlOp;

/** EVENT kinds. Open set: a reader passes an unknown kind through as its number. */
export const EventKind = {
  ALERT_HIGH: 1,
  ALERT_LOW: 2,
  CLEAR: 3,
  VALUE: 4,
  FAULT: 5,
  FAULT_CLEARED: 6,
  RESET: 7,
} as const;
/** Hello channel kinds. */
export const ChannelKind = { FREQUENT: 0, RARE: 1 } as const;
/** LOG levels (as the HAL's LOG_* constants). */
export const LogLevel = { ERROR: 0, WARN: 1, INFO: 2, DEBUG: 3 } as const;

/** The header fields every frame carries (version and flags are implied: 1 and 0). */
export interface FrameHeader {
  /** u32; a control frame's target, or BROADCAST_DEVICE. */
  device: number;
  /** u32: per device, +1 per frame sent from 0 at boot; on a control frame, the command id. */
  seq: number;
  /** u32: device ms since boot (wraps); on a control frame, the sender's ms or 0. */
  t: number;
}

export interface HelloChannel {
  id: number;
  /** ChannelKind. */
  kind: number;
  name: string;
  unit: string;
}
export interface HelloFrame extends FrameHeader {
  type: "hello";
  abi: number;
  /** "name@version". */
  firmware: string;
  board: string;
  /** The first 8 bytes of the module's SHA-256, as 16 lowercase hex digits. */
  appHash: string;
  /** Drawn by the device's runtime at each start of the module, as 8 lowercase hex digits: a new boot
   *  has another, even when its frames are otherwise byte for byte those of the last. Present when
   *  abi >= HELLO_BOOT_ID_ABI. */
  bootId?: string;
  samplePeriodMs: number;
  channels: HelloChannel[];
}

/** The part of the channel table a HELLO had no room for, sent right after it (0x07). A host resets a
 *  device's table on HELLO and adds these entries by id. */
export interface ChannelsFrame extends FrameHeader {
  type: "channels";
  channels: HelloChannel[];
}

export interface SummaryEntry {
  channel: number;
  /** Valid samples in the window; 0 is legal and then the statistics are NaN. */
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  last: number;
}
export interface SummaryFrame extends FrameHeader {
  type: "summary";
  windowStart: number;
  windowMs: number;
  entries: SummaryEntry[];
}

export interface EventFrame extends FrameHeader {
  type: "event";
  channel: number;
  /** EventKind. */
  kind: number;
  value: number;
  /** FAULT: the driver/HAL status; RESET: the reason; otherwise 0. */
  code: number;
}

export interface StatusFrame extends FrameHeader {
  type: "status";
  samples: number;
  dropped: number;
  faults: number;
  framesSent: number;
  resets: number;
  sleeping: boolean;
}

export interface LogFrame extends FrameHeader {
  type: "log";
  /** LogLevel. */
  level: number;
  text: string;
}

export interface AckFrame extends FrameHeader {
  type: "ack";
  /** The acknowledged control frame's seq (its command id). */
  ackedSeq: number;
  /** The control op byte it carried. */
  op: number;
  /** 0 or a negative status. */
  result: number;
}

/** What a control frame asks, by op. */
export type ControlCommand =
  | { op: "sleep"; /** 0 = until WAKE */ ms: number }
  | { op: "wake" }
  | { op: "set_window"; /** 0xFF = all frequent channels */ channel: number; /** 0 = unused */ ms: number; /** 0 = unused */ count: number }
  | { op: "set_rate"; periodMs: number }
  | { op: "set_threshold"; channel: number; /** NaN disables the side */ high: number; low: number; hysteresis: number }
  | { op: "set_deadband"; channel: number; deadband: number }
  | { op: "ping" }
  | { op: "hello" };
export type ControlFrame = FrameHeader & { type: "control" } & ControlCommand;

export type Frame = HelloFrame | ChannelsFrame | SummaryFrame | EventFrame | StatusFrame | LogFrame | AckFrame | ControlFrame;

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: string };
