// `iotfw ctl --device host:port` to `iotfw simulate --deploy-port`, no bridge: the real CLI on both sides.
// A ping and a set-rate reach device 1 as CONTROL frames, it acknowledges each (the ACKs are in its
// frames too), and its summaries then count ten times the samples per window while device 2's do not; an
// id the fleet lacks is "unknown" (exit 3, as through a bridge). May touch: a temp folder, a loopback
// port and the CLI processes it starts.
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "../cli/testing.js";
import { startDeployFleet } from "./testing.js";
import { waitFor } from "../bridge/testing.js";

interface Line { type: string; device: number; t: number; ackedSeq?: number; op?: string; result?: number; windowStart?: number; channels?: Array<{ channel: number; count: number }> }

describe("iotfw ctl --device to a simulated fleet's deploy port", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("ping and set-rate are acknowledged and the device's frames follow the new rate", async () => {
    const fleet = await startDeployFleet<Line>(2);
    const { address, lines } = fleet;
    try {
      await waitFor(() => lines().filter((l) => l.type === "hello").length >= 2, "the fleet's hellos", 60_000);

      const ping = await runCli(["ctl", "00000001", "ping", "--device", address]);
      expect(ping.stderr).toBe("");
      expect(ping.code).toBe(0);
      expect(ping.stdout).toMatch(/^00000001: ping acknowledged in \d+ ms\n$/);

      const rate = await runCli(["ctl", "1", "set-rate", "100", "--device", `tcp://${address}`, "--json"]);
      expect(rate.code, rate.stderr).toBe(0);
      expect(JSON.parse(rate.stdout)).toMatchObject({ ok: true, device: "00000001", op: "set_rate", result: 0 });
      // The ACKs are among the device's frames too (written once the answer went out: waited for).
      const acks = await waitFor(() => { const a = lines().filter((l) => l.type === "ack"); return a.length >= 2 ? a : undefined; }, "both ACKs in the frames", 30_000);
      expect(acks.map((a) => [a.device, a.op, a.result])).toEqual([[1, "ping", 0], [1, "set_rate", 0]]);

      // env-station samples every second over 60 s windows: 60 a window before, 600 at 100 ms.
      const after = acks[1].t;
      const window = (device: number) => lines().find((l) => l.type === "summary" && l.device === device && l.windowStart! >= after);
      const one = await waitFor(() => window(1), "a whole window of device 1 at the new rate", 60_000);
      const two = await waitFor(() => window(2), "the same window of device 2", 60_000);
      expect(one.channels!.find((c) => c.channel === 0)!.count).toBe(600);
      expect(two.channels!.find((c) => c.channel === 0)!.count).toBe(60);

      const unknown = await runCli(["ctl", "0badbeef", "ping", "--device", address]);
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toBe(`iotfw: device 0badbeef is unknown at ${address}\n`);
      expect(fleet.exitCode()).toBeNull();
    } finally {
      expect(await fleet.stop()).toBe(130);
    }
  }, 180_000);

  it("nothing listening: a clear error, no stack", async () => {
    const r = await runCli(["ctl", "1", "ping", "--device", "127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^iotfw: cannot reach 127\.0\.0\.1:1: .*ECONNREFUSED.*deploy port/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
