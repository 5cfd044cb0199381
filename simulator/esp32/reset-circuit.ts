// The auto-reset circuit of ESP32 dev boards (ESP32-DevKitC and the others esptool's "Automatic
// bootloader" section describes): the USB-UART's DTR and RTS outputs drive two cross-coupled NPN
// transistors, one pulling EN (CHIP_PU) low, one pulling the boot strap (GPIO0; GPIO9 on the ESP32-C3)
// low. A line "asserted" (pyserial's dtr/rts = True) drives the UART pin low, so:
//
//     DTR RTS | EN   IO0
//      0   0  | high high   both released (port closed, or both deasserted)
//      1   1  | high high   both released (pyserial's state after open)
//      0   1  | LOW  high   chip held in reset
//      1   0  | high LOW    boot strap pulled low
//
// EN has a 10 kOhm pull-up and a capacitor to GND, so it rises slowly, and the chip leaves reset
// (latching its strapping pins) only when EN crosses its input-high threshold. The capacitor is what
// makes esptool's ClassicReset work through the window where DTR and RTS are both asserted and IO0 is
// still high (espressif/esp-idf#3925: Espressif's newer dev boards add a capacitor from EN to GND to slow
// EN's rising edge for that reason; esptool docs, Boot Mode Selection, Automatic bootloader: the reset
// circuit needs a 1-10 uF capacitor between EN and GND to work reliably). The model takes the top of that range: 10 kOhm and 10 uF (tau = 100 ms), EN reaching
// 0.75 VDD (the datasheet's VIH) after tau * ln 4 = 139 ms, the default here. An RFC 2217 client changes one line per SET-CONTROL and pyserial waits for each
// reply (it polls every 50 ms), so the window lasts 50 ms or more there; 139 ms covers it.
// Pure state and one timer: touches nothing.

export interface ResetCircuitHost {
  /** EN went low: the chip stops (held in reset). */
  hold(): void;
  /** EN crossed its threshold: the chip starts; strapLow is the boot strap's level at that moment. */
  release(strapLow: boolean): void;
  log?(text: string): void;
}

/** 10 kOhm x 10 uF, to 0.75 VDD: 100 ms x ln(4). */
export const DEFAULT_EN_DELAY_MS = Math.round(100 * Math.log(4));

export class ResetCircuit {
  dtr = false;
  rts = false;
  private timer: NodeJS.Timeout | null = null;
  /** Whether the chip is held in reset (EN low, or still charging). */
  inReset = false;

  constructor(private readonly host: ResetCircuitHost, readonly enDelayMs = DEFAULT_EN_DELAY_MS) {}

  get enLow(): boolean { return this.rts && !this.dtr; }
  get strapLow(): boolean { return this.dtr && !this.rts; }

  /** New line levels (either or both); acts on EN's edges. */
  set(lines: { dtr?: boolean; rts?: boolean }): void {
    const wasLow = this.enLow;
    if (lines.dtr !== undefined) this.dtr = lines.dtr;
    if (lines.rts !== undefined) this.rts = lines.rts;
    const now = this.enLow;
    if (now === wasLow) this.host.log?.(`DTR ${+this.dtr}, RTS ${+this.rts}: EN ${now ? "still low" : "high"}, boot strap ${this.strapLow ? "low" : "high"}`);
    if (now && !wasLow) {
      this.cancel();
      this.inReset = true;
      this.host.log?.(`EN pulled low (DTR ${+this.dtr}, RTS ${+this.rts}): chip held in reset`);
      this.host.hold();
    } else if (!now && wasLow) {
      this.host.log?.(`EN released (DTR ${+this.dtr}, RTS ${+this.rts}): the chip leaves reset in ${this.enDelayMs} ms`);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.inReset = false;
        const low = this.strapLow;
        this.host.log?.(`EN crossed its threshold with the boot strap ${low ? "low: download mode" : "high: booting from flash"} (DTR ${+this.dtr}, RTS ${+this.rts})`);
        this.host.release(low);
      }, this.enDelayMs);
    }
  }

  cancel(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
  }
}
