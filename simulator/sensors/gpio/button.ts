// Model of a push button on a GPIO pin (PinDevice.level/edges for gpio_read and gpio_watch/gpio_edges),
// with seeded contact bounce: each scripted press or release produces a burst of extra toggles within
// bounceUs before the contact settles. Edges are generated when a transition is scheduled, so what the
// pin does depends only on the seed and the script. Fault: stuck (contact welded closed: reads pressed,
// no edges). Touches only its Random.
import type { PinDevice } from "../../hal/buses.js";
import { Random } from "../../random.js";
import type { PinFault } from "../pin-faults.js";

export interface ButtonModelOptions {
  seed?: number | string;
  /** Pressed pulls the pin low against a pull-up (default true). */
  activeLow?: boolean;
  /** Contact bounce lasts up to this long after each transition (default 5000 us; tactile switches are
   *  specified under 5-10 ms, e.g. C&K PTS645 "bounce time < 10 ms"). */
  bounceUs?: number;
  /** Extra toggle pairs per transition, drawn uniformly in [min, max] (default [2, 6]). */
  bounces?: [number, number];
  fault?: PinFault;
}

export class ButtonModel implements PinDevice {
  fault: PinFault;
  private readonly rng: Random;
  private readonly activeLow: boolean;
  private readonly bounceUs: number;
  private readonly bounces: [number, number];
  /** Every edge, in time order: [timeUs, level]. */
  readonly edgeList: Array<[number, number]> = [];
  private pressed = false;

  constructor(options: ButtonModelOptions = {}) {
    this.fault = options.fault ?? "none";
    this.rng = new Random(options.seed ?? "button");
    this.activeLow = options.activeLow ?? true;
    this.bounceUs = options.bounceUs ?? 5000;
    this.bounces = options.bounces ?? [2, 6];
  }

  private levelOf(pressed: boolean): number { return pressed !== this.activeLow ? 1 : 0; }

  /** Script a press (true) or release (false) at atUs; transitions must come in time order, each after
   *  the previous one's bounce. */
  set(pressed: boolean, atUs: number): this {
    const last = this.edgeList.at(-1)?.[0] ?? -Infinity;
    if (atUs <= last) throw new RangeError(`ButtonModel: transition at ${atUs} us is not after the last edge at ${last} us`);
    if (pressed === this.pressed) return this;
    this.pressed = pressed;
    const target = this.levelOf(pressed);
    const n = this.rng.int(this.bounces[0], this.bounces[1]) * 2;
    const times = Array.from({ length: n }, () => Math.round(this.rng.uniform(1, this.bounceUs))).sort((a, b) => a - b);
    this.edgeList.push([atUs, target]);
    let t = atUs;
    times.forEach((dt, i) => {
      t = Math.max(t + 1, atUs + dt); // strictly increasing
      this.edgeList.push([t, i % 2 === 0 ? 1 - target : target]);
    });
    return this;
  }

  press(atUs: number): this { return this.set(true, atUs); }
  release(atUs: number): this { return this.set(false, atUs); }

  /** Index of the first edge later than tUs (binary search: a long script stays cheap to query). */
  private after(tUs: number): number {
    let lo = 0;
    let hi = this.edgeList.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.edgeList[mid][0] <= tUs) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  level(nowUs: number): number {
    if (this.fault === "stuck") return this.levelOf(true);
    const i = this.after(nowUs);
    return i === 0 ? this.levelOf(false) : this.edgeList[i - 1][1];
  }

  edges(fromUs: number, toUs: number): Array<[number, number]> {
    if (this.fault === "stuck") return [];
    return this.edgeList.slice(this.after(fromUs), this.after(toUs));
  }
}
