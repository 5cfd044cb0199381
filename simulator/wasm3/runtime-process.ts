// One iotfw-runtime-sim process (firmware/runtime/ports/sim): the real C runtime and Wasm3 holding a
// shard's devices, spoken to synchronously over two FIFOs (a request, then the runtime's messages until
// its DONE, each HAL request answered as it comes). Synchronous on purpose: a HAL call is a round trip,
// and blocking reads make it two system calls instead of an event-loop turn. It can record both
// directions, so the same run replays on another build of the runtime (rv32 under QEMU).
// May touch: a temporary folder for the FIFOs, the child process.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { decodeHello, MessageWriter, Op, quitMessage } from "./protocol.js";

export class RuntimeProcessError extends Error {}

export interface RuntimeMessage { op: number; payload: Buffer }

export class RuntimeProcess {
  /** Requests are written here, then flushed before waiting for the runtime. */
  readonly out = new MessageWriter();
  /** Both directions as they crossed, when recording (RuntimeProcess.start({ record: true })). */
  readonly recorded?: { toRuntime: Buffer[]; fromRuntime: Buffer[] };
  private inBuf = Buffer.allocUnsafe(256 * 1024);
  private inStart = 0;
  private inEnd = 0;
  private closed = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly toFd: number,
    private readonly fromFd: number,
    private readonly dir: string,
    record: boolean,
    readonly imports: string[],
  ) {
    if (record) this.recorded = { toRuntime: [], fromRuntime: [] };
  }

  /** Start the runtime binary and check it implements the HAL this simulator speaks. */
  static async start(binary: string, options: { record?: boolean; halImports: readonly string[]; halVersion: number }): Promise<RuntimeProcess> {
    const dir = mkdtempSync(join(tmpdir(), "iotfw-sim-"));
    const toPath = join(dir, "to-runtime"), fromPath = join(dir, "from-runtime");
    execFileSync("mkfifo", [toPath, fromPath]);
    const child = spawn(binary, ["--fifos", toPath, fromPath], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        const lines = createInterface({ input: child.stdout! });
        const fail = (why: string) => { lines.close(); reject(new RuntimeProcessError(`${binary}: ${why}`)); };
        child.once("error", (e) => fail(e.message));
        child.once("exit", (code, signal) => fail(`exited before it was ready (${signal ?? `code ${code}`})`));
        lines.once("line", (line) => { lines.close(); child.removeAllListeners("exit"); line === "ready" ? resolve() : fail(`said "${line}" instead of ready`); });
      });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    // The runtime holds both FIFOs open both ways, so neither open blocks.
    const toFd = openSync(toPath, "w"), fromFd = openSync(fromPath, "r");
    const proc = new RuntimeProcess(child, toFd, fromFd, dir, options.record ?? false, []);
    const hello = proc.next();
    if (hello.op !== Op.HELLO) throw new RuntimeProcessError(`${binary}: expected its HELLO, got op ${hello.op}`);
    const { version, imports } = decodeHello(hello.payload);
    const same = version === options.halVersion && imports.length === options.halImports.length && imports.every((n, i) => n === options.halImports[i]);
    if (!same) {
      proc.close();
      throw new RuntimeProcessError(`${binary} implements HAL v${version} (${imports.join(", ")}), not this simulator's v${options.halVersion}: rebuild it`);
    }
    (proc as { imports: string[] }).imports = imports;
    return proc;
  }

  get pid(): number | undefined { return this.child.pid; }

  /** Send what was written to `out`. */
  flush(): void {
    if (this.out.length === 0) return;
    const bytes = this.out.take();
    if (this.recorded) this.recorded.toRuntime.push(Buffer.from(bytes));
    let off = 0;
    try {
      while (off < bytes.length) off += writeSync(this.toFd, bytes, off, bytes.length - off);
    } catch (e) {
      throw new RuntimeProcessError(`the runtime process is gone (${(e as Error).message})`);
    }
  }

  /** The runtime's next message (flushes first). Throws when the runtime stopped or said ERROR. */
  next(): RuntimeMessage {
    this.flush();
    this.fill(5);
    const op = this.inBuf[this.inStart];
    const len = this.inBuf.readUInt32LE(this.inStart + 1);
    this.fill(5 + len);
    const payload = this.inBuf.subarray(this.inStart + 5, this.inStart + 5 + len);
    if (this.recorded) this.recorded.fromRuntime.push(Buffer.from(this.inBuf.subarray(this.inStart, this.inStart + 5 + len)));
    this.inStart += 5 + len;
    if (op === Op.ERROR) throw new RuntimeProcessError(`the runtime refused a request: ${payload.toString("utf8")}`);
    return { op, payload };
  }

  /** Make n bytes available at inStart (the payload stays valid until the next call of next()). */
  private fill(n: number): void {
    if (this.inEnd - this.inStart >= n) return;
    if (this.inStart > 0) { this.inBuf.copy(this.inBuf, 0, this.inStart, this.inEnd); this.inEnd -= this.inStart; this.inStart = 0; }
    if (n > this.inBuf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.inBuf.length * 2));
      this.inBuf.copy(bigger, 0, 0, this.inEnd);
      this.inBuf = bigger;
    }
    while (this.inEnd < n) {
      const got = this.readSome();
      if (got === 0) throw new RuntimeProcessError(`the runtime process ended (${this.describeExit()})`);
      this.inEnd += got;
    }
  }

  /** Read what the runtime wrote, blocking (the runtime polls before it blocks, so the pair wakes fast
   *  enough; polling here too would take the core from a runtime sharing it). 0 = it ended. */
  private readSome(): number {
    try {
      return readSync(this.fromFd, this.inBuf, this.inEnd, this.inBuf.length - this.inEnd, null);
    } catch (e) {
      throw new RuntimeProcessError(`reading from the runtime failed: ${(e as Error).message}`);
    }
  }

  private describeExit(): string {
    const { exitCode, signalCode } = this.child;
    return signalCode ? `signal ${signalCode}` : exitCode !== null ? `exit code ${exitCode}` : "its output closed";
  }

  /** Ask the runtime to quit and release everything (safe to call twice). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { quitMessage(this.out); this.flush(); } catch { /* already gone */ }
    try { closeSync(this.toFd); } catch { /* closed */ }
    try { closeSync(this.fromFd); } catch { /* closed */ }
    this.child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
