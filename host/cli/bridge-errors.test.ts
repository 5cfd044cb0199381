// `iotfw bridge` refusing to start ends the process: the error, exit 1, no hang (issue 13: with its
// embedded broker's port taken it printed the error and then never exited). May touch: temp folders,
// a loopback port it holds, the CLI process it starts.
import { createServer } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureCliBuilt, runCli } from "./testing.js";

describe("iotfw bridge that cannot start", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("--broker on a port in use: the message, exit 1, and the process ends", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      const spool = join(mkdtempSync(join(tmpdir(), "iotfw-bridge-err-")), "spool");
      const r = await runCli(["bridge", "--broker", `127.0.0.1:${port}`, "--spool", spool, "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0"]);
      expect(r.code).toBe(1); // runCli resolves only once the process has exited: a hang fails by the test's timeout
      expect(r.stderr).toMatch(new RegExp(`embedded broker: 127\\.0\\.0\\.1:${port} is in use`));
      expect(r.stderr).not.toMatch(/unexpected error|\n\s+at /);
    } finally {
      taken.close();
    }
  }, 30_000);
});
