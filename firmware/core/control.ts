// Applies a decoded downlink CONTROL (the static Control fields decodeControl filled) to the core and
// returns the result the ACK carries: 0 or a negative status. Ops and layouts: docs/protocol.md.
import { ERR_INVALID } from "../hal/imports";
import { Channels, isChannel, isFrequent } from "./channels";
import { sendHello } from "./device";
import { windowSetBounds } from "./window";
import { rulesSetThreshold, rulesSetDeadband } from "./rules";
import { sleepFor, wake, setDevicePeriod } from "./schedule";
import {
  Control, OP_SLEEP, OP_WAKE, OP_SET_WINDOW, OP_SET_RATE, OP_SET_THRESHOLD, OP_SET_DEADBAND, OP_PING, OP_HELLO,
} from "./frame/encoder";

/** SET_WINDOW's channel meaning every frequent channel. */
export const ALL_CHANNELS: u8 = 0xFF;

function setWindowAll(ms: u32, count: u32, now: u32): i32 {
  if (ms == 0 && count == 0) return ERR_INVALID;
  let any = false;
  for (let ch = 0; ch < Channels.count; ch++) {
    if (isFrequent(ch)) { windowSetBounds(ch, ms, count, now); any = true; }
  }
  return any ? 0 : ERR_INVALID;
}

export function applyControl(now: u32): i32 {
  const op = Control.op;
  const ch = <i32>Control.channel;
  if (op == OP_SLEEP) { sleepFor(Control.ms, now); return 0; }
  if (op == OP_WAKE) { wake(); return 0; }
  if (op == OP_SET_WINDOW) {
    if (Control.channel == ALL_CHANNELS) return setWindowAll(Control.ms, <u32>Control.count, now);
    return windowSetBounds(ch, Control.ms, <u32>Control.count, now);
  }
  if (op == OP_SET_RATE) return setDevicePeriod(Control.ms);
  if (op == OP_SET_THRESHOLD) {
    if (!isChannel(ch)) return ERR_INVALID;
    return rulesSetThreshold(ch, <f64>Control.high, <f64>Control.low, <f64>Control.hysteresis, now);
  }
  if (op == OP_SET_DEADBAND) {
    if (!isChannel(ch)) return ERR_INVALID;
    return rulesSetDeadband(ch, <f64>Control.deadband);
  }
  if (op == OP_PING) return 0;
  if (op == OP_HELLO) { sendHello(now); return 0; }
  return ERR_INVALID; // decodeControl rejects unknown ops; kept so a new op cannot fall through silently
}
