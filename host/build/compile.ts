// Compiles AssemblyScript to Wasm in memory through the assemblyscript compiler API, with the options
// every iotfw module shares (asconfig.json). Used by `iotfw build` and by tests that compile test
// entries (the firmware's code is always tested as compiled Wasm).
// May touch: nothing on disk (reads sources through asc's readFile hook, writes nothing).
//
// Apps: an app's files may import iotfw's firmware library as "iotfw/<path>" (e.g. "iotfw/core/entry"),
// which maps to REPO_ROOT/firmware/<path>. An app outside the repository is mounted, for the compiler
// only, at the virtual folder firmware/apps/__external__/ so every file keeps a repo-relative internal
// path: that is what lets asconfig.json's `--use abort=firmware/hal/abort/halAbort` resolve for any app.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, relative, resolve, join, sep, posix, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "../repo-root.js";

/** The compiler's version, read from its package.json without loading the compiler (~1 s): an
 *  unchanged build is recognised by its fingerprint, which includes it (host/build/fingerprint.ts).
 *  The package exports only ./asc and friends, so its package.json is found next to dist/asc.js. */
export const ascVersion: string = (JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.resolve("assemblyscript/asc"))), "..", "package.json"), "utf8")) as { version: string }).version;

export interface CompileResult {
  ok: boolean;
  binary?: Uint8Array;
  text?: string;
  /** Errors as `path:line:column: error TS<code>: message` lines, empty on success. */
  diagnostics: string;
  /** Every diagnostic asc reported (errors and warnings), with user-facing paths. */
  messages: Diagnostic[];
}

export interface Diagnostic {
  /** Path of the file as the user named it ("" when asc gave no location). */
  file: string;
  line: number;
  column: number;
  category: "pedantic" | "info" | "warning" | "error";
  code: number;
  message: string;
}

/** An app folder whose files may use "iotfw/..." imports and may live outside the repository. */
export interface AppSource {
  /** The folder, absolute. */
  dir: string;
  /** How diagnostics name the folder: the path as the user gave it (default: dir). */
  label?: string;
  /** Files the compiler sees in the app folder when the folder has none of that name (app-relative
   *  name -> text): the generated "./hardware" module (host/build/hardware-module.ts). */
  generated?: Record<string, string>;
}

export interface CompileOptions {
  /** asconfig target: "release" (default) or "debug". */
  target?: "release" | "debug";
  /** Also emit the text format (for tests that inspect it). */
  wat?: boolean;
  /** Extra asc arguments. */
  extraArgs?: string[];
  /** Compile entries of this app; entries are then relative to app.dir. */
  app?: AppSource;
}

/** Where an app outside the repository appears to the compiler (repo-relative, posix). */
export const EXTERNAL_APP_MOUNT = "firmware/apps/__external__";
const FIRMWARE_LIBRARY = "firmware";
const ABORT_MODULE = "firmware/hal/abort";
// asc's DiagnosticCategory enum order.
const CATEGORIES = ["pedantic", "info", "warning", "error"] as const;

const toPosix = (p: string) => p.split(sep).join("/");
const isInside = (dir: string, path: string) => {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

/**
 * Rewrites `from "iotfw/x"` / `import "iotfw/x"` in an app file at repo-relative `virtualPath` into a
 * relative import of firmware/x. Only import specifiers change, so line numbers stay exact.
 */
export function rewriteIotfwImports(source: string, virtualPath: string): string {
  const rel = relativeImport(virtualPath, FIRMWARE_LIBRARY);
  return source.replace(/(\b(?:from|import)\s*)(["'])iotfw(\/[^"'\n]*)?\2/g,
    (_m, lead: string, quote: string, sub: string | undefined) => `${lead}${quote}${rel}${sub ?? "/core"}${quote}`);
}

/** Import specifier reaching repo-relative `target` from the file at repo-relative `fromFile`. */
function relativeImport(fromFile: string, target: string): string {
  const rel = posix.relative(posix.dirname(fromFile), target) || ".";
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** Compile one or more AssemblyScript entry files (absolute or repo-relative paths, or app-relative with options.app). */
export async function compileAssemblyScript(entries: string[], options: CompileOptions = {}): Promise<CompileResult> {
  const outputs: Record<string, Uint8Array | string> = {};
  const sources = new Map<string, string>(); // internal (repo-relative) path -> text as compiled
  const reported: { message: string; code: number; category: number; start: number; path: string | null }[] = [];
  let stderr = "";

  const app = options.app ? { dir: resolve(options.app.dir), label: options.app.label ?? options.app.dir } : undefined;
  const appInRepo = app ? isInside(REPO_ROOT, app.dir) : false;
  // The app folder as the compiler sees it, repo-relative.
  const appVirtual = app ? (appInRepo ? toPosix(relative(REPO_ROOT, app.dir)) : EXTERNAL_APP_MOUNT) : undefined;

  const toInternal = (entry: string) => app
    ? posix.join(appVirtual!, toPosix(relative(app.dir, resolve(app.dir, entry))))
    : toPosix(relative(REPO_ROOT, resolve(REPO_ROOT, entry)));

  /** Real file behind a repo-relative internal path, and whether it belongs to the app. */
  const locate = (internal: string): { real: string; inApp: boolean } => {
    if (app && !appInRepo && (internal + "/").startsWith(EXTERNAL_APP_MOUNT + "/")) {
      return { real: join(app.dir, internal.slice(EXTERNAL_APP_MOUNT.length + 1)), inApp: true };
    }
    const real = resolve(REPO_ROOT, internal);
    return { real, inApp: !!app && isInside(app.dir, real) };
  };

  /** How a diagnostic names a file: app files under the app's label, library files by real path. */
  const displayPath = (internal: string): string => {
    if (app && appVirtual && (internal + "/").startsWith(appVirtual + "/")) {
      return posix.join(toPosix(app.label), internal.slice(appVirtual.length + 1));
    }
    const real = locate(internal).real;
    const fromCwd = relative(process.cwd(), real);
    return toPosix(fromCwd.startsWith("..") || isAbsolute(fromCwd) ? real : fromCwd);
  };

  const entryInternals = new Set(entries.map((e) => `${toInternal(e).replace(/\.ts$/, "")}.ts`));
  const args = [
    ...entries.map(toInternal),
    "--config", join(REPO_ROOT, "asconfig.json"),
    "--target", options.target ?? "release",
    "--baseDir", REPO_ROOT,
    "--outFile", "out.wasm",
    "--noColors",
    ...(options.wat ? ["--textFile", "out.wat"] : []),
    ...(options.extraArgs ?? []),
  ];
  const asc = (await import("assemblyscript/asc")).default; // loaded only when something is compiled
  const result = await asc.main(args, {
    stdout: { write: () => true } as never,
    stderr: { write: (s: string | Uint8Array) => { stderr += typeof s === "string" ? s : Buffer.from(s).toString(); return true; } } as never,
    readFile: async (name: string, baseDir: string) => {
      const abs = resolve(REPO_ROOT, baseDir, name);
      if (!isInside(REPO_ROOT, abs)) {
        try { return await readFile(abs, "utf8"); } catch { return null; }
      }
      const internal = toPosix(relative(REPO_ROOT, abs));
      const { real, inApp } = locate(internal);
      let text: string;
      try {
        text = await readFile(real, "utf8");
      } catch {
        const generated = inApp ? options.app?.generated?.[toPosix(relative(app!.dir, real))] : undefined;
        if (generated === undefined) return null;
        text = generated;
      }
      if (inApp && internal.endsWith(".ts")) text = rewriteIotfwImports(text, internal);
      // asconfig.json's `--use abort=firmware/hal/abort/halAbort` needs that file in the program even
      // when an app entry imports nothing from iotfw; appended, so line numbers stay exact.
      if (inApp && entryInternals.has(internal)) text += `\nimport "${relativeImport(internal, ABORT_MODULE)}";\n`;
      sources.set(internal, text);
      return text;
    },
    writeFile: (name: string, contents: Uint8Array | string) => { outputs[name] = contents; },
    listFiles: () => [],
    reportDiagnostic: (d: { message: string; code: number; category: number; range: { start: number; source: { normalizedPath: string } | null } | null }) => {
      reported.push({ message: d.message, code: d.code, category: d.category, start: d.range?.start ?? 0, path: d.range?.source?.normalizedPath ?? null });
    },
  } as never);

  const messages: Diagnostic[] = reported.map((d) => {
    const category = CATEGORIES[d.category] ?? "error";
    if (d.path === null) return { file: "", line: 0, column: 0, category, code: d.code, message: d.message };
    const { line, column } = lineAndColumn(sources.get(d.path) ?? "", d.start);
    return { file: displayPath(d.path), line, column, category, code: d.code, message: d.message };
  });

  if (result.error) {
    const errors = messages.filter((m) => m.category === "error").map(formatDiagnostic);
    const diagnostics = errors.length ? errors.join("\n") : (stderr.trim() || String(result.error.message));
    return { ok: false, diagnostics, messages };
  }
  const binary = outputs["out.wasm"];
  return {
    ok: true,
    binary: binary instanceof Uint8Array ? binary : undefined,
    text: typeof outputs["out.wat"] === "string" ? (outputs["out.wat"] as string) : undefined,
    diagnostics: "",
    messages,
  };
}

/** `path:line:column: error TS2304: message` (no location part when asc gave none). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.file ? `${d.file}:${d.line}:${d.column}: ` : "";
  return `${where}${d.category} TS${d.code}: ${d.message}`;
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return { line, column: offset - lineStart + 1 };
}
