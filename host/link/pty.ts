// A pseudo-terminal pair joined back to back by socat (`socat pty,raw,echo=0 pty,raw,echo=0`): what one
// side writes, the other reads, like two ends of a serial cable. Used by `iotfw emulate` (the virtual
// ESP32 opens one end, flash/monitor/bridge open the other), by the simulator's --serial and by tests.
// Needs the socat binary (Debian package socat). May touch: the socat process it starts (and stops).
import { spawn, type ChildProcess } from "node:child_process";

export interface PtyPair {
  /** Device paths of the two ends (/dev/pts/N), or the links when `links` was given. */
  a: string;
  b: string;
  /** Stop socat; both paths disappear. */
  close(): Promise<void>;
}

export class PtyError extends Error {}

/** Start socat and wait until it reports both ptys. With `links`, socat also makes a symlink to each end
 *  at those paths (no commas: socat reads them as options; removed when it stops): a path that stays the same when the pair is made
 *  again, as a USB adapter's /dev/serial/by-id name does when it is plugged back in. */
export function createPtyPair(options: { timeoutMs?: number; socat?: string; links?: { a: string; b: string } } = {}): Promise<PtyPair> {
  const timeoutMs = options.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      const end = (link?: string) => (link ? `pty,raw,echo=0,link=${link}` : "pty,raw,echo=0");
      child = spawn(options.socat ?? "socat", ["-d", "-d", end(options.links?.a), end(options.links?.b)], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      reject(new PtyError(`cannot start socat: ${(e as Error).message}`));
      return;
    }
    let text = "";
    let settled = false;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null) child.kill();
      reject(new PtyError(message));
    };
    const timer = setTimeout(() => fail(`socat did not report two ptys within ${timeoutMs} ms: ${text.trim()}`), timeoutMs);
    child.once("error", (e: NodeJS.ErrnoException) => fail(e.code === "ENOENT" ? "socat is not installed (apt-get install socat)" : `socat: ${e.message}`));
    child.once("exit", (code) => fail(`socat exited (${code}) before both ptys were ready: ${text.trim()}`));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      text += chunk;
      const paths = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]);
      // "starting data transfer loop" follows once both ends exist.
      if (paths.length === 2 && /starting data transfer loop/.test(text) && !settled) {
        settled = true;
        clearTimeout(timer);
        child.stderr!.resume();
        resolve({
          a: options.links?.a ?? paths[0],
          b: options.links?.b ?? paths[1],
          close: async () => {
            if (child.exitCode === null && child.signalCode === null) { child.kill("SIGTERM"); await exited; }
          },
        });
      }
    });
  });
}
