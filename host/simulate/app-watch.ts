// `iotfw dev`: watch an app's folder, rebuild on save, and hot-deploy the new module into every target:
// the running simulated fleet (through a FleetDeployInstaller, as --deploy-port: every device, or the
// chosen ones, restarts with it, ids kept) and/or devices' deploy ports (`iotfw dev --device`, through
// the deploy client, host/deploy/client.ts). A compile error deploys nothing, keeps the old module
// running everywhere and is reported with file:line.
// May touch: reads the app folder (fs.watch), writes the build folder; the targets through their deploy().
import { readdirSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { buildApp, type BuildOptions, type BuildResult } from "../build/build.js";
import { BuildError } from "../build/errors.js";

/** Where a rebuilt module goes: the dev fleet, or one deploy port. */
export interface WatchTarget {
  /** For the user: "2 device(s)", "devices 2, 4", "127.0.0.1:7602". */
  readonly name: string;
  /** SHA-256 (hex) of the module the target runs when known: a save that builds the same module
   *  deploys nothing there. Unknown (a device's port at start) means the first build is sent. */
  current?: string;
  /** Install the module; rejects with a message for the user (a refusal, a connection error). */
  deploy(built: BuildResult, sha256: Uint8Array): Promise<void>;
}

/** One target's outcome of one rebuild. */
export interface TargetOutcome {
  target: string;
  ok: boolean;
  /** Save (or start) to the module installed there, or to the failure, wall ms. */
  ms: number;
  /** Why it failed (ok false). */
  error?: string;
}

/** What one save led to. */
export interface Rebuild {
  ok: boolean;
  /** Save to the module installed in every target (or to the compile error), wall ms. */
  ms: number;
  /** "env-station 0.1.0 (sha256 ...)" or the compiler's diagnostics. */
  message: string;
  /** The module was the one already running everywhere: nothing was deployed. */
  unchanged?: boolean;
  /** The deploy that `AppWatch` makes at start to targets whose module is unknown (no save). */
  initial?: boolean;
  /** Per target that was sent the module (targets already running it are left out). */
  targets: TargetOutcome[];
}

/** Folders of an app that are not its sources. */
const IGNORED = new Set(["build", "node_modules"]);
/** A change to a file with another extension is not a save of the app (frames or logs written into its
 *  folder, `--out` files): rebuilding on it would loop when dev's own output goes there. Names with no
 *  extension (folders, editors' temporary names) count. */
const SOURCE = /(?:\.(?:ts|json)|^[^.]*)$/;
/** Saves closer together than this are one rebuild (editors write a file in several steps). */
const SETTLE_MS = 50;

export class AppWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly appDir: string,
    private readonly build: BuildOptions,
    private readonly targets: WatchTarget[],
    private readonly onRebuild: (r: Rebuild) => void,
  ) {
    this.watchTree(appDir);
    // The compiler loads on first use and its first compile runs cold (several seconds in all): one
    // compile now, in the background, makes the first save as quick as the rest. Same inputs, same bytes.
    // Then targets whose module is unknown (a device's deploy port) get this build.
    const started = performance.now();
    this.running = buildApp({ ...this.build, reuse: false }).then(() => undefined, () => undefined)
      .then(() => (this.targets.some((t) => t.current === undefined) && !this.closed ? this.rebuild(started, true) : undefined));
  }

  /** Resolves when every rebuild asked for so far is done (tests, and a caller that wants to wait). */
  idle(): Promise<void> { return this.running; }

  /** A non-recursive watch on every folder of the app (build output and node_modules left out): Node
   *  20's recursive watch on Linux loses a file that an editor saves by writing a new file and renaming
   *  it over the old (sed -i, vim, many IDEs), while a folder's own watch sees every rename in it. */
  private watchTree(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      this.watchers.set(dir, watch(dir, (_event, file) => { if (!file || (!IGNORED.has(String(file)) && SOURCE.test(String(file)))) this.changed(dir); }));
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !IGNORED.has(e.name) && !e.name.startsWith(".")) this.watchTree(join(dir, e.name));
      }
    } catch { /* removed meanwhile */ }
  }

  private changed(dir: string): void {
    if (this.closed) return;
    this.watchTree(dir); // a folder created in it is watched from now on
    clearTimeout(this.timer);
    const saved = performance.now();
    this.timer = setTimeout(() => { this.running = this.running.then(() => this.rebuild(saved)); }, SETTLE_MS);
  }

  private async rebuild(saved: number, initial = false): Promise<void> {
    if (this.closed) return;
    let built: BuildResult;
    try {
      built = await buildApp({ ...this.build, reuse: true });
    } catch (e) {
      // Nothing is deployed anywhere: every target keeps the module it runs.
      const message = e instanceof BuildError ? e.message : (e as Error).message;
      this.onRebuild({ ok: false, ms: performance.now() - saved, message, initial, targets: [] });
      return;
    }
    const sha = createHash("sha256").update(built.binary).digest();
    const hex = sha.toString("hex");
    const label = `${built.manifest.app.name} ${built.manifest.app.version} (sha256 ${hex.slice(0, 16)}...)`;
    const due = this.targets.filter((t) => t.current !== hex);
    if (due.length === 0) { this.onRebuild({ ok: true, ms: performance.now() - saved, message: label, unchanged: true, initial, targets: [] }); return; }
    // Every target at once: a slow or unreachable device does not hold up the others.
    const outcomes = await Promise.all(due.map(async (t): Promise<TargetOutcome> => {
      try {
        await t.deploy(built, sha);
        t.current = hex;
        return { target: t.name, ok: true, ms: performance.now() - saved };
      } catch (e) {
        // What runs there now is not known for sure (a device may have taken it and not answered): the
        // next save sends its module again.
        t.current = undefined;
        return { target: t.name, ok: false, ms: performance.now() - saved, error: (e as Error).message };
      }
    }));
    this.onRebuild({ ok: true, ms: Math.max(...outcomes.map((o) => o.ms)), message: label, initial, targets: outcomes });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
  }
}
