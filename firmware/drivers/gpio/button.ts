// Push button on a GPIO pin with software debounce: edges are recorded natively with microsecond stamps
// (gpio_watch both edges, taken with gpio_edges), and a level counts only once it has held for the debounce
// window (default 20 ms; contact bounce of a tactile switch is typically under 5-10 ms, e.g. C&K PTS645
// datasheet "bounce time < 10 ms"). Touches only the HAL imports and a static edge buffer.
import { gpio_mode, gpio_read, gpio_watch, gpio_edges, time_us, GPIO_INPUT_PULLUP, GPIO_INPUT_PULLDOWN, EDGE_BOTH } from "../../hal/imports";
import { Sensor } from "../sensor";

/** Edges taken per gpio_edges call (8 bytes each: time_us, level); fetch loops until the queue is empty. */
const EDGES_PER_TAKE: u32 = 32;
const edgeBuf = memory.data(<i32>EDGES_PER_TAKE * 8);

export class Button extends Sensor {
  private stable: i32 = 0;      // debounced state: 1 pressed, 0 released
  private raw: i32 = 0;         // the last level seen on the pin, as pressed/released
  private rawSinceUs: u32 = 0;  // when raw last changed
  private lastEventAtUs: u32 = 0;
  private presses: u32 = 0;
  private releases: u32 = 0;
  private readonly debounceUs: u32;

  /** activeLow: pressed pulls the pin to ground against the internal pull-up (the usual wiring). */
  constructor(private readonly pin: i32, private readonly activeLow: bool = true, debounceMs: u32 = 20) {
    super();
    this.debounceUs = debounceMs * 1000;
  }

  name(): string { return "button"; }
  channelCount(): i32 { return 1; }
  channelName(i: i32): string { return "button"; }
  channelUnit(i: i32): string { return ""; }
  isRare(i: i32): bool { return true; }

  setup(): i32 {
    let s = gpio_mode(this.pin, this.activeLow ? GPIO_INPUT_PULLUP : GPIO_INPUT_PULLDOWN);
    if (s < 0) return s;
    const level = gpio_read(this.pin);
    if (level < 0) return level;
    this.stable = this.pressed(level);
    this.raw = this.stable;
    this.rawSinceUs = time_us();
    return gpio_watch(this.pin, EDGE_BOTH);
  }

  /** Returns the number of debounced transitions since the last fetch (0 when nothing happened);
   *  read(0) is then the latest state, 1 pressed or 0 released. */
  fetch(now: u32): i32 {
    let transitions = 0;
    while (true) {
      const n = gpio_edges(this.pin, edgeBuf, EDGES_PER_TAKE);
      if (n < 0) return n;
      for (let i = 0; i < n; i++) {
        const at = edgeBuf + (<usize>i << 3);
        transitions += this.edge(load<u32>(at), this.pressed(load<u32>(at, 4)));
      }
      if (<u32>n < EDGES_PER_TAKE) break;
    }
    return transitions + this.settle(time_us());
  }

  read(i: i32): f64 { return i == 0 ? <f64>this.stable : NaN; }

  /** Debounced presses and releases since setup (for apps that count clicks, and tests). */
  pressCount(): u32 { return this.presses; }
  releaseCount(): u32 { return this.releases; }
  /** time_us of the latest debounced transition (when the level started to hold). */
  lastEventUs(): u32 { return this.lastEventAtUs; }

  private pressed(level: i32): i32 { return (level != 0) != this.activeLow ? 1 : 0; }

  /** One raw edge at tUs: first settle what held until now, then start timing the new level. */
  private edge(tUs: u32, pressed: i32): i32 {
    const committed = this.settle(tUs);
    if (pressed != this.raw) {
      this.raw = pressed;
      this.rawSinceUs = tUs;
    }
    return committed;
  }

  /** Commit raw as the debounced state if it has held for the debounce window by tUs. */
  private settle(tUs: u32): i32 {
    if (this.raw == this.stable || tUs - this.rawSinceUs < this.debounceUs) return 0;
    this.stable = this.raw;
    this.lastEventAtUs = this.rawSinceUs;
    if (this.stable != 0) this.presses++; else this.releases++;
    return 1;
  }
}
