// The exports every iotfw module has (see docs/hal-abi.md); an app re-exports them:
// `export * from "../../core/entry";`. init sends HELLO, sets sensors up, sends STATUS; tick fetches
// due sensors, closes due windows, sends SUMMARY frames and the periodic STATUS and says when to come
// back; control applies a downlink CONTROL and ACKs it. Touches the HAL through the core's modules.
import { HAL_VERSION, CONTROL_MAX, ERR_INVALID, RESET_POWER_ON, time_ms, device_id } from "../hal/imports";
import "../hal/abort"; // abort() -> panic (asconfig.json "use")
import { Device, CHANNEL_DEVICE, identityInit, sendHello, sendStatus, sendEvent, sendAck } from "./device";
import { closeDueWindows, flushSummaries, nextWindowDelay } from "./window";
import { Batch } from "./readings";
import { setupSensors, fetchDue, nextFetchDelay, sleepCheck, sleepDelay, isDue } from "./schedule";
import { applyControl } from "./control";
import { decodeControl, Control, EVENT_RESET } from "./frame/encoder";

/** Periodic STATUS, in device time. */
const STATUS_PERIOD_MS: u32 = 60_000;
/** The longest tick() ever asks to wait (so a sleeping device still sends its STATUS). */
const MAX_TICK_DELAY_MS: u32 = 60_000;

const controlBuf = memory.data(<i32>CONTROL_MAX);

class Boot {
  static nextStatus: u32 = 0;
}

export function abi_version(): u32 { return HAL_VERSION; }

export function init(): i32 {
  const now = time_ms();
  const info = identityInit();
  sendHello(now);
  const reason = info & 0xFF;
  if (reason != RESET_POWER_ON || (info >>> 8) != 0) sendEvent(CHANNEL_DEVICE, EVENT_RESET, NaN, <i32>reason, now);
  const result = setupSensors(now);
  sendStatus(now);
  Boot.nextStatus = now + STATUS_PERIOD_MS;
  return result;
}

export function tick(now_ms: u32): u32 {
  const now = now_ms;
  Batch.open = true;
  sleepCheck(now);
  if (!Device.sleeping) fetchDue(now);
  closeDueWindows(now);
  flushSummaries(now);
  Batch.open = false;
  if (isDue(now, Boot.nextStatus)) {
    sendStatus(now);
    const next = Boot.nextStatus + STATUS_PERIOD_MS;
    Boot.nextStatus = isDue(now, next) ? now + STATUS_PERIOD_MS : next;
  }
  let delay = min(MAX_TICK_DELAY_MS, <u32>(Boot.nextStatus - now));
  delay = min(delay, nextWindowDelay(now));
  delay = min(delay, sleepDelay(now));
  if (!Device.sleeping) delay = min(delay, nextFetchDelay(now));
  return max<u32>(delay, 1); // never 0: no busy loop
}

export function control_buffer(): usize { return controlBuf; }

export function control(len: u32): i32 {
  if (len > CONTROL_MAX) { Device.controlRejected++; return ERR_INVALID; }
  // A frame that fails decoding cannot be trusted (not even its seq): no ACK, only counted.
  const status = decodeControl(controlBuf, <i32>len, device_id());
  if (status < 0) { Device.controlRejected++; return status; }
  const now = time_ms();
  const result = applyControl(now);
  flushSummaries(now); // SET_WINDOW may have closed windows
  sendAck(now, Control.seq, Control.op, result);
  return result;
}
