// `iotfw ports` as a table: a header, columns as wide as their cells, the ESP hint by VID:PID.
import { describe, expect, it } from "vitest";
import { ESP_BRIDGES, portTable } from "./commands/ports.js";

describe("iotfw ports table", () => {
  it("has a header and aligned columns, with the likely ESP bridge", () => {
    const text = portTable([
      { path: "/dev/ttyUSB0", vidPid: "10C4:EA60", manufacturer: "Silicon Labs", hint: ESP_BRIDGES["10C4:EA60"] },
      { path: "/dev/ttyS0", vidPid: null, manufacturer: null, hint: null },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^PORT\s+VID:PID\s+MANUFACTURER\s+LIKELY$/);
    expect(lines[1]).toMatch(/^\/dev\/ttyUSB0\s+10C4:EA60\s+Silicon Labs\s+ESP: Silicon Labs CP210x/);
    expect(lines[2]).toMatch(/^\/dev\/ttyS0\s+-\s+-$/);
    expect(lines[1].indexOf("10C4")).toBe(lines[0].indexOf("VID:PID")); // aligned under the header
  });
});
