// `iotfw dev`: watch an app's folder, rebuild on save, and hot-deploy the new module into the running
// simulated fleet (through the same FleetDeployInstaller as --deploy-port: every device restarts with
// it, ids kept). A compile error keeps the old module running and is reported with file:line.
// May touch: reads the app folder (fs.watch), writes the build folder; the fleet through the installer.
import { readdirSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { buildApp, type BuildOptions } from "../build/build.js";
import { BuildError } from "../build/errors.js";
import type { FleetDeployInstaller } from "./fleet-deploy.js";

/** What one save led to. */
export interface Rebuild {
  ok: boolean;
  /** Save to module installed in every device (or to the compile error), wall ms. */
  ms: number;
  /** "env-station 0.1.0 (sha256 ...)" or the compiler's diagnostics. */
  message: string;
  /** The module was the one already running: nothing was deployed. */
  unchanged?: boolean;
}

/** Folders of an app that are not its sources. */
const IGNORED = new Set(["build", "node_modules"]);
/** Saves closer together than this are one rebuild (editors write a file in several steps). */
const SETTLE_MS = 50;

export class AppWatch {
  private readonly watchers = new Map<string, FSWatcher>();
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private current?: string;

  constructor(
    private readonly appDir: string,
    private readonly build: BuildOptions,
    private readonly installer: FleetDeployInstaller,
    private readonly onRebuild: (r: Rebuild) => void,
  ) {
    this.watchTree(appDir);
    // The compiler loads on first use and its first compile runs cold (several seconds in all): one
    // compile now, in the background, makes the first save as quick as the rest. Same inputs, same bytes.
    this.running = buildApp({ ...this.build, reuse: false }).then(() => undefined, () => undefined);
  }

  /** A non-recursive watch on every folder of the app (build output and node_modules left out): Node
   *  20's recursive watch on Linux loses a file that an editor saves by writing a new file and renaming
   *  it over the old (sed -i, vim, many IDEs), while a folder's own watch sees every rename in it. */
  private watchTree(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      this.watchers.set(dir, watch(dir, (_event, file) => { if (!(file && IGNORED.has(String(file)))) this.changed(dir); }));
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory() && !IGNORED.has(e.name) && !e.name.startsWith(".")) this.watchTree(join(dir, e.name));
      }
    } catch { /* removed meanwhile */ }
  }

  private changed(dir: string): void {
    this.watchTree(dir); // a folder created in it is watched from now on
    clearTimeout(this.timer);
    const saved = performance.now();
    this.timer = setTimeout(() => { this.running = this.running.then(() => this.rebuild(saved)); }, SETTLE_MS);
  }

  /** The module the fleet runs now (to tell a save that changed nothing from a new module). */
  setCurrent(sha256: string): void { this.current = sha256; }

  private async rebuild(saved: number): Promise<void> {
    try {
      const built = await buildApp({ ...this.build, reuse: true });
      const sha = createHash("sha256").update(built.binary).digest();
      const label = `${built.manifest.app.name} ${built.manifest.app.version} (sha256 ${sha.toString("hex").slice(0, 16)}...)`;
      if (sha.toString("hex") === this.current) { this.onRebuild({ ok: true, ms: performance.now() - saved, message: label, unchanged: true }); return; }
      await this.installer.accept(built.binary, sha);
      this.current = sha.toString("hex");
      this.onRebuild({ ok: true, ms: performance.now() - saved, message: label });
    } catch (e) {
      const message = e instanceof BuildError ? e.message : (e as Error).message;
      this.onRebuild({ ok: false, ms: performance.now() - saved, message });
    }
  }

  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.values()) w.close();
  }
}
