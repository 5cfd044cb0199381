// The rules file of `iotfw bridge --rules rules.sql` (docs/store.md "Rules"): statements separated by
// `;`, each preceded by `-- key: value` lines (rule, to, every, window, relay). This only splits the text into
// statements (quotes and comments respected, so a `;` inside a string does not end one) and reads the
// header lines; the SQL itself is DuckDB's to judge (host/store/rules.ts prepares every statement).
// Pure; touches nothing (the caller reads the file).
import { CliError } from "../cli/errors.js";
import { parseDuration } from "../cli/duration.js";

export class RulesError extends Error {}

export type Target = { kind: "tcp"; url: string } | { kind: "mqtt"; url: string; topic: string } | { kind: "log" };

export interface RuleSpec {
  name: string;
  /** The SQL, exactly as written (from its first line, comments and all, without the `;`). */
  sql: string;
  /** 1-based line in the file of the statement's first line of SQL. */
  line: number;
  targets: Target[];
  /** A window rule: evaluated every `everyMs` over the rows received in the last `windowMs`. */
  everyMs?: number;
  windowMs?: number;
  /** `relay: yes`: tcp:// targets are sent the frames other bridges sent here too (a hub passing on its
   *  bridges' events); by default they are not, so peers never echo. */
  relay?: boolean;
}

const KEYS = ["rule", "to", "every", "window", "relay"] as const;

/** "tcp://host:port", "mqtt://host:port/topic/levels", "log". */
export function parseTarget(text: string, where: string): Target {
  if (text === "log") return { kind: "log" };
  let u: URL;
  try { u = new URL(text); } catch { throw new RulesError(`${where}: "to: ${text}" is not a target (tcp://host:port, mqtt://host:port/topic or log)`); }
  if (u.protocol === "tcp:") {
    if (!u.port) throw new RulesError(`${where}: "to: ${text}": a bridge target needs a port (tcp://host:7600)`);
    return { kind: "tcp", url: `tcp://${u.host}` };
  }
  if (u.protocol === "mqtt:" || u.protocol === "mqtts:") {
    const topic = decodeURIComponent(u.pathname.replace(/^\//, ""));
    if (!topic || /[#+]/.test(topic)) throw new RulesError(`${where}: "to: ${text}": give the topic to publish on after the broker (mqtt://host:1883/iotfw/alerts), without wildcards`);
    return { kind: "mqtt", url: `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : ""}${u.host}`, topic };
  }
  throw new RulesError(`${where}: "to: ${text}": unsupported target ${u.protocol} (tcp://, mqtt://, mqtts:// or log)`);
}

/** Statements of `text` with the line each starts on; `;` inside quotes or comments does not split. */
function statements(text: string): Array<{ body: string; line: number }> {
  const out: Array<{ body: string; line: number }> = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    else if (c === "-" && text[i + 1] === "-") { while (i + 1 < text.length && text[i + 1] !== "\n") i++; }
    else if (c === "/" && text[i + 1] === "*") {
      i += 2;
      while (i < text.length && !(text[i] === "*" && text[i + 1] === "/")) { if (text[i] === "\n") line++; i++; }
      i++;
    } else if (c === "'" || c === '"') {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === "\n") line++;
    } else if (c === ";") {
      out.push({ body: text.slice(start, i), line: startLine });
      start = i + 1;
      startLine = line;
    }
  }
  if (text.slice(start).replace(/--[^\n]*/g, "").trim()) out.push({ body: text.slice(start), line: startLine });
  return out;
}

const durationOf = (text: string, where: string, key: string): number => {
  try {
    const ms = parseDuration(text, `${key}:`);
    if (ms <= 0) throw new RulesError(`${where}: "${key}: ${text}" must be more than 0`);
    return ms;
  } catch (e) {
    if (e instanceof CliError) throw new RulesError(`${where}: ${e.message}`);
    throw e;
  }
};

/** The rules of a file's text; `file` names it in errors ("rules.sql:12: ..."). */
export function parseRules(text: string, file: string): RuleSpec[] {
  const rules: RuleSpec[] = [];
  const names = new Set<string>();
  for (const st of statements(text)) {
    const lines = st.body.split("\n");
    const header: Record<string, string[]> = {};
    let sqlLine = -1;
    let headerLine = st.line;
    for (let k = 0; k < lines.length; k++) {
      const l = lines[k].trim();
      const at = st.line + k;
      if (l === "") continue;
      if (!l.startsWith("--")) { sqlLine = k; break; }
      const m = /^--\s*([a-z][a-z-]*)\s*:\s*(.*?)\s*$/.exec(l);
      if (!m) continue; // a plain comment
      if (!(KEYS as readonly string[]).includes(m[1])) throw new RulesError(`${file}:${at}: unknown key "${m[1]}:" (a rule's header takes ${KEYS.map((x) => `-- ${x}:`).join(", ")})`);
      if (m[1] === "rule") headerLine = at;
      (header[m[1]] ??= []).push(m[2]);
    }
    const where = `${file}:${headerLine}`;
    if (sqlLine < 0) {
      if (Object.keys(header).length) throw new RulesError(`${where}: rule "${header.rule?.[0] ?? "?"}" has no SQL after its header`);
      continue;
    }
    const name = header.rule?.[0];
    if (!name) throw new RulesError(`${file}:${st.line + sqlLine}: a statement without "-- rule: <name>" before it`);
    if (header.rule!.length > 1 || names.has(name)) throw new RulesError(`${where}: rule "${name}" is named twice`);
    names.add(name);
    if (!header.to?.length) throw new RulesError(`${where}: rule "${name}" has no "-- to:" (tcp://host:port, mqtt://host:port/topic or log)`);
    const targets = header.to.map((t) => parseTarget(t, `${where}: rule "${name}"`));
    const rule: RuleSpec = { name, sql: lines.slice(sqlLine).join("\n").trim(), line: st.line + sqlLine, targets };
    if (header.every) {
      rule.everyMs = durationOf(header.every[0], where, "every");
      rule.windowMs = header.window ? durationOf(header.window[0], where, "window") : rule.everyMs;
      // Window rows are aggregates, not frames: there is nothing a bridge above could take.
      if (targets.some((t) => t.kind === "tcp")) throw new RulesError(`${where}: rule "${name}" is a window rule (every:) and cannot go to tcp:// (its rows are not frames); send it to mqtt:// or log`);
    } else if (header.window) {
      throw new RulesError(`${where}: rule "${name}" has "window:" without "every:"`);
    }
    if (header.relay) {
      const v = header.relay[0];
      if (v !== "yes" && v !== "no") throw new RulesError(`${where}: rule "${name}": "relay: ${v}" must be yes or no`);
      if (!targets.some((t) => t.kind === "tcp")) throw new RulesError(`${where}: rule "${name}" has "relay:" but no tcp:// target (only frames sent to a bridge are relayed)`);
      rule.relay = v === "yes";
    }
    rules.push(rule);
  }
  if (rules.length === 0) throw new RulesError(`${file}: no rules (each is "-- rule: <name>", "-- to: <target>", then a SELECT ending in ;)`);
  return rules;
}
