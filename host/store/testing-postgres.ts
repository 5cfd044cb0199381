// Test support: a real PostgreSQL (Debian's server binaries) that a test or the bench starts itself:
// initdb in a temporary folder, a free loopback port, its unix socket in that folder, fsync off (a test
// database need not survive a power cut; `stop("immediate")` is a crash for the server's clients, not
// for its data). PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user (the
// Debian package creates it) through runuser. A role `iotfw` with a password and a database `iotfw`
// are made, so tests can also try a wrong password. Only tests and the bench import this.
// May touch: the temp folder it creates, the server it starts (and stops).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort, waitFor } from "../bridge/testing.js";

export const PG_USER = "iotfw";
export const PG_PASSWORD = "iotfw-test-password";
export const PG_DATABASE = "iotfw";

/** The newest /usr/lib/postgresql/<version>/bin with a server in it, or null. */
function serverBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "postgres"))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], "bin") : null;
}

/** How to run the server's programs here, or why not (a message a test prints when it skips or fails). */
function runner(): { bin: string; prefix: string[]; uid?: number; gid?: number } | { missing: string } {
  const bin = serverBin();
  if (!bin) return { missing: "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)" };
  if (process.getuid?.() !== 0) return { bin, prefix: [] };
  const id = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (id.status !== 0) return { missing: "running as root and there is no `postgres` OS user to run PostgreSQL as (apt-get install postgresql creates it)" };
  if (!existsSync("/usr/sbin/runuser") && !existsSync("/sbin/runuser")) return { missing: "running as root and runuser(1) is missing (util-linux)" };
  return { bin, prefix: ["runuser", "-u", "postgres", "--"], uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Null when a PostgreSQL can be started here, else why not. */
export function postgresMissing(): string | null {
  const r = runner();
  return "missing" in r ? r.missing : null;
}

/** For describe.skipIf: skip without PostgreSQL, except under CI, where its absence is a failure. */
export function skipWithoutPostgres(): boolean {
  const why = postgresMissing();
  if (!why) return false;
  if (process.env.CI) throw new Error(`CI needs PostgreSQL for these tests: ${why}`);
  console.warn(`skipping PostgreSQL tests: ${why}`);
  return true;
}

export class TestPostgres {
  private constructor(readonly dir: string, readonly port: number, private readonly bin: string, private readonly prefix: string[]) {}

  get data(): string { return join(this.dir, "data"); }
  /** The URL a bridge is given (with the test role's password). */
  url(password = PG_PASSWORD, database = PG_DATABASE): string {
    return `postgres://${PG_USER}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<TestPostgres> {
    const r = runner();
    if ("missing" in r) throw new Error(r.missing);
    const dir = mkdtempSync(join(tmpdir(), "iotfw-pg-"));
    if (r.uid !== undefined) chownSync(dir, r.uid, r.gid!);
    const p = new TestPostgres(dir, await freePort(), r.bin, r.prefix);
    p.run("initdb", ["-D", p.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C"]);
    // Local (socket) connections trusted for setup; TCP needs the password, so a wrong one is refused.
    writeFileSync(join(p.data, "pg_hba.conf"), "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n");
    if (r.uid !== undefined) chownSync(join(p.data, "pg_hba.conf"), r.uid, r.gid!);
    await p.start();
    const admin = new pg.Client({ host: dir, port: p.port, user: "postgres", database: "postgres" });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${PG_USER} LOGIN PASSWORD '${PG_PASSWORD}'`);
      await admin.query(`CREATE DATABASE ${PG_DATABASE} OWNER ${PG_USER}`);
    } finally { await admin.end(); }
    return p;
  }

  private run(program: string, args: string[]): string {
    const [cmd, ...rest] = [...this.prefix, join(this.bin, program), ...args];
    try {
      // cwd: the postgres user may not be allowed into the caller's folder (initdb and pg_ctl complain).
      return execFileSync(cmd, rest, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], cwd: this.dir });
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string };
      throw new Error(`${program} failed: ${(err.stderr || err.stdout || String(e)).trim()}`);
    }
  }

  /** (Re)start the server on the same port and data folder; resolves once it takes connections. */
  async start(): Promise<void> {
    this.run("pg_ctl", ["start", "-w", "-D", this.data, "-l", join(this.dir, "server.log"), "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`]);
    await waitFor(async () => {
      const c = new pg.Client({ host: this.dir, port: this.port, user: "postgres", database: "postgres" });
      try { await c.connect(); await c.end(); return true; } catch { return false; }
    }, `PostgreSQL on port ${this.port}`);
  }

  /** "immediate": the server dies without a clean shutdown, as in a crash (recovery at the next start). */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    if (!existsSync(join(this.data, "postmaster.pid"))) return;
    this.run("pg_ctl", ["stop", "-w", "-D", this.data, "-m", mode]);
  }

  /** A fresh database owned by the test role (one per test: nothing left over from another). */
  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ host: this.dir, port: this.port, user: "postgres", database: "postgres" });
    await admin.connect();
    try { await admin.query(`CREATE DATABASE "${name}" OWNER ${PG_USER}`); } finally { await admin.end(); }
    return name;
  }

  /** A client as the test role, for checking what was stored. */
  async client(database = PG_DATABASE): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url(PG_PASSWORD, database) });
    c.on("error", () => undefined); // the test may stop the server under it
    await c.connect();
    return c;
  }

  async destroy(): Promise<void> {
    try { await this.stop("immediate"); } catch { /* already gone */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
