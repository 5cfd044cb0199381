// One duration syntax for every option that takes a time (host/cli/duration.ts).
import { describe, expect, it } from "vitest";
import { parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it("reads ms, s, m, h, d; a bare number is seconds", () => {
    expect(["500ms", "30s", "10m", "2h", "1d", "1.5m", "45", "2 S"].map((t) => parseDuration(t, "--x"))).toEqual([500, 30_000, 600_000, 7_200_000, 86_400_000, 90_000, 45_000, 2000]);
  });
  it("refuses anything else, naming the option", () => {
    for (const t of ["", "ten", "-1s", "5w", "1e3"]) expect(() => parseDuration(t, "--duration")).toThrow(/^--duration takes a time such as 500ms/);
  });
});
