// The rules of `iotfw bridge --rules` (docs/store.md "Rules"), with the bridges as child processes (the
// CLI a user runs) fed by seeded `iotfw simulate --bridge` fleets with the heat-wave scenario: (a) two
// bridges as two Pis, each with its own devices (two shards of one fleet) and its own --store, each
// forwarding its own devices' rare events (a per-frame rule) to the other over tcp://: only the rule's
// rows cross (the peer's store holds the alert events and nothing else of the other Pi's devices but
// their HELLO), each once, and each store answers for its own summaries;
// (b) a hub's rule relaying a bridge below's frames (relay: yes) and one that does not;
// (c) a window rule publishing to a topic of a real mosquitto, and a per-frame rule to the log;
// (d) rules refused at start with DuckDB's message and the file's line, and bad headers.
// May touch: temp folders it creates, loopback ports, the processes it starts (mosquitto, bridges).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, ensureCliBuilt, runCli } from "../cli/testing.js";
import { eventFrame, freePort, helloFrame, Mosquitto, spawnBridgeCli, TcpDevice, tempDir, waitFor, type BridgeChild } from "../bridge/testing.js";
import { RulesError, RulesUpstream } from "./rules.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

interface Sent { type: string; device: number; seq: number; kind?: string; value?: number; channels?: Array<{ name: string; mean: number; count: number }> }
type Row = Record<string, unknown>;
const hex = (d: number) => d.toString(16).padStart(8, "0");
const FLEET = ["--sensors", "4", "--duration", "40m", "--speed", "max", "--seed", "4", "--boot-id-seed", "4", "--workers", "1", "--scenario", "heat-wave"];

function dir(): string {
  const d = tempDir("iotfw-rules-");
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function stop(child: BridgeChild): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  await new Promise<void>((resolve) => { child.proc.once("exit", () => resolve()); child.proc.kill("SIGTERM"); });
}

async function bridge(args: string[]): Promise<BridgeChild> {
  const child = await spawnBridgeCli(CLI, args);
  cleanups.push(() => stop(child));
  return child;
}

/** A shard of the seeded fleet: its frames as the simulator sent them (to `bridgeUrl` when given). */
async function simulate(out: string, shard: string, bridgeUrl?: string): Promise<Sent[]> {
  const r = await runCli(["simulate", ...FLEET, "--shard", shard, "--out", out, ...(bridgeUrl ? ["--bridge", bridgeUrl] : [])]);
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Sent);
}

async function query(args: string[], sql: string): Promise<Row[]> {
  const r = await runCli(["query", ...args, "--json", "--", sql]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Row[];
}

const summaryRows = (sent: Sent[]) => sent.filter((m) => m.type === "summary").reduce((n, m) => n + m.channels!.length, 0);
const alertsOf = (sent: Sent[]) => sent.filter((m) => m.type === "event" && m.kind === "alert_high")
  .map((m) => ({ device: hex(m.device), seq: m.seq, kind: "alert_high", value: m.value })).sort((a, b) => a.device.localeCompare(b.device) || a.seq - b.seq);

describe("bridge rules", () => {
  beforeAll(() => ensureCliBuilt(), 300_000);

  it("two Pis: only the rare events cross, each store answers for its own frequent data", async () => {
    const d = dir();
    const [portA, portB] = [await freePort(), await freePort()];
    // The same rule on both Pis, without naming their devices: the rules see the frames the peer
    // forwarded too, and do not send those back (docs/store.md "Rules", "Two Pis").
    const rules = (peer: number) => [
      "-- The rare events go to the other Pi; summaries, status and the faults stay here.",
      "-- rule: alerts-to-peer",
      `-- to: tcp://127.0.0.1:${peer}`,
      "SELECT * FROM events",
      "WHERE kind = 'alert_high';", ""].join("\n");
    writeFileSync(join(d, "a.sql"), rules(portB));
    writeFileSync(join(d, "b.sql"), rules(portA));
    const pi = (name: string, port: number) => bridge(["--listen", `tcp://127.0.0.1:${port}`, "--spool", join(d, name, "spool"), "--store", join(d, name, "store"),
      "--upstream", `file:${join(d, name, "up.ndjson")}`, "--rules", join(d, `${name}.sql`)]);
    const [a, b] = await Promise.all([pi("a", portA), pi("b", portB)]);
    const [sentA, sentB] = await Promise.all([
      simulate(join(d, "sent-a.ndjson"), "1/2", `tcp://127.0.0.1:${portA}`),
      simulate(join(d, "sent-b.ndjson"), "2/2", `tcp://127.0.0.1:${portB}`),
    ]);
    const devicesA = [...new Set(sentA.map((m) => hex(m.device)))].sort();
    const devicesB = [...new Set(sentB.map((m) => hex(m.device)))].sort();
    expect(devicesA).toEqual([hex(1), hex(2)]);
    expect(devicesB).toEqual([hex(3), hex(4)]);
    const [alertsA, alertsB] = [alertsOf(sentA), alertsOf(sentB)];
    expect(alertsA.length).toBeGreaterThan(0);
    expect(alertsB.length).toBeGreaterThan(0);

    const live = (child: BridgeChild, name: string) => ["--bridge", `http://127.0.0.1:${child.ready.http}`, "--spool", join(d, name, "spool")];
    const counts = "SELECT (SELECT count(*) FROM summaries) AS s, (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM status) AS st";
    const own = (sent: Sent[]) => ({ s: summaryRows(sent), e: sent.filter((m) => m.type === "event").length, st: sent.filter((m) => m.type === "status").length });
    // Each store: its own fleet's rows plus the peer's alerts; the rules' confirmations all in.
    for (const [child, name, mine, peer] of [[a, "a", sentA, alertsB], [b, "b", sentB, alertsA]] as const) {
      const want = own(mine);
      await waitFor(async () => {
        const c = (await query(live(child, name), counts))[0];
        return c.s === want.s && c.e === want.e + peer.length && c.st === want.st;
      }, `pi ${name}'s store complete`, 60_000);
    }
    const metric = async (child: BridgeChild, re: RegExp) => Number(re.exec(await (await fetch(`http://127.0.0.1:${child.ready.http}/metrics`)).text())?.[1] ?? 0);
    const matched = /^iotfw_bridge_rule_rows_total\{rule="alerts-to-peer"\} (\d+)/m;
    // Each rule matched both fleets' alerts (its own and those the peer relayed), and sent only its own:
    // nothing came back to be dropped as a duplicate.
    const both = alertsA.length + alertsB.length;
    await waitFor(async () => await metric(a, matched) === both && await metric(b, matched) === both, "both rules saw every alert", 30_000);
    const duplicates = /^iotfw_bridge_duplicates_total (\d+)/m;
    expect([await metric(a, duplicates), await metric(b, duplicates)]).toEqual([0, 0]);
    await Promise.all([stop(a), stop(b)]);

    // Stopped, each store is the CLI's to open: the peer's devices have their alerts (and their HELLO,
    // so the rows carry channel names), and no summary, status, fault or any other event.
    for (const [name, mine, theirs, peerDevices, peerAlerts] of [["a", sentA, devicesA, devicesB, alertsB], ["b", sentB, devicesB, devicesA, alertsA]] as const) {
      const store = ["--store", join(d, name, "store")];
      const inList = peerDevices.map((x) => `'${x}'`).join(", ");
      expect(await query(store, `SELECT device, seq, kind, value FROM events WHERE device IN (${inList}) ORDER BY device, seq`)).toEqual(peerAlerts);
      expect(await query(store, `SELECT (SELECT count(*) FROM summaries WHERE device IN (${inList})) AS s,
        (SELECT count(*) FROM status WHERE device IN (${inList})) AS st, (SELECT count(*) FROM logs WHERE device IN (${inList})) AS l`)).toEqual([{ s: 0, st: 0, l: 0 }]);
      expect(await query(store, `SELECT DISTINCT name FROM events WHERE device IN (${inList})`)).toEqual([{ name: "temperature" }]);
      // Once each.
      expect(await query(store, "SELECT max(n) AS worst FROM (SELECT count(*) AS n FROM events GROUP BY device, seq, channel)")).toEqual([{ worst: 1 }]);
      // The frequent data: this Pi's summaries, per device, exactly as its fleet sent them.
      const perDevice = new Map<string, { rows: number; samples: number }>();
      for (const m of mine) if (m.type === "summary") for (const c of m.channels!) {
        const p = perDevice.get(hex(m.device)) ?? { rows: 0, samples: 0 };
        p.rows++; p.samples += c.count; perDevice.set(hex(m.device), p);
      }
      expect(await query(store, "SELECT device, count(*) AS rows, sum(count) AS samples FROM summaries GROUP BY device ORDER BY device"))
        .toEqual(theirs.map((x) => ({ device: x, ...perDevice.get(x)! })));
    }
  }, 120_000);

  it("after a restart, a peer that never saw a device's HELLO still gets it before the device's frames", async () => {
    const d = dir();
    const portB = await freePort();
    writeFileSync(join(d, "a.sql"), `-- rule: all-events\n-- to: tcp://127.0.0.1:${portB}\nSELECT * FROM events;\n`);
    const a = ["--listen", "tcp://127.0.0.1:0", "--spool", join(d, "a", "spool"), "--upstream", `file:${join(d, "a", "up.ndjson")}`, "--rules", join(d, "a.sql")];
    const peer = (name: string) => bridge(["--listen", `tcp://127.0.0.1:${portB}`, "--spool", join(d, name, "spool"), "--store", join(d, name, "store"), "--upstream", `file:${join(d, name, "up.ndjson")}`]);
    const stored = (child: BridgeChild, name: string, sql: string) => query(["--bridge", `http://127.0.0.1:${child.ready.http}`, "--spool", join(d, name, "spool")], sql);

    let b = await peer("b1");
    let pi = await bridge(a);
    let device = await TcpDevice.connect(pi.ready.tcp);
    device.send(helloFrame(0x61));
    for (let seq = 1; seq <= 3; seq++) device.send(eventFrame(0x61, seq));
    await waitFor(async () => Number((await stored(b, "b1", "SELECT count(*) AS n FROM events"))[0].n) === 3, "the first events at the peer", 30_000);
    device.close();
    await stop(pi);
    await stop(b);

    // A new peer (a fresh store), and the Pi restarted on its spool: the HELLO was acknowledged before,
    // so only the bridge's device state has it.
    b = await peer("b2");
    pi = await bridge(a);
    device = await TcpDevice.connect(pi.ready.tcp);
    for (let seq = 4; seq <= 6; seq++) device.send(eventFrame(0x61, seq));
    await waitFor(async () => Number((await stored(b, "b2", "SELECT count(*) AS n FROM events"))[0].n) === 3, "the later events at the new peer", 30_000);
    const rows = await stored(b, "b2", "SELECT seq, name, unit FROM events ORDER BY seq");
    expect(rows).toEqual([4, 5, 6].map((seq) => ({ seq, name: "temperature", unit: "°C" })));
    expect(await stored(b, "b2", "SELECT device, firmware FROM devices")).toEqual([{ device: hex(0x61), firmware: "test@1.0.0" }]);
    device.close();
  }, 120_000);

  it("a hub's rule with relay: yes passes on the frames a bridge below sent; without it, only its own devices'", async () => {
    const d = dir();
    const [portHub, portC, portD] = [await freePort(), await freePort(), await freePort()];
    const sink = (name: string, port: number) => bridge(["--listen", `tcp://127.0.0.1:${port}`, "--spool", join(d, name, "spool"), "--store", join(d, name, "store"), "--upstream", `file:${join(d, name, "up.ndjson")}`]);
    const [c, dd] = await Promise.all([sink("c", portC), sink("d", portD)]);
    writeFileSync(join(d, "hub.sql"), [
      `-- rule: relayed\n-- to: tcp://127.0.0.1:${portC}\n-- relay: yes\nSELECT * FROM events;`,
      `-- rule: own\n-- to: tcp://127.0.0.1:${portD}\nSELECT * FROM events;`, ""].join("\n"));
    writeFileSync(join(d, "a.sql"), `-- rule: up\n-- to: tcp://127.0.0.1:${portHub}\nSELECT * FROM events;\n`);
    const hub = await bridge(["--listen", `tcp://127.0.0.1:${portHub}`, "--spool", join(d, "hub", "spool"), "--upstream", `file:${join(d, "hub", "up.ndjson")}`, "--rules", join(d, "hub.sql")]);
    const a = await bridge(["--listen", "tcp://127.0.0.1:0", "--spool", join(d, "a", "spool"), "--upstream", `file:${join(d, "a", "up.ndjson")}`, "--rules", join(d, "a.sql")]);
    // Device 0x71 on the bridge below (its frames reach the hub relayed), device 0x72 on the hub itself.
    const below = await TcpDevice.connect(a.ready.tcp);
    const own = await TcpDevice.connect(hub.ready.tcp);
    cleanups.push(() => { below.close(); own.close(); });
    below.send(helloFrame(0x71));
    own.send(helloFrame(0x72));
    for (let seq = 1; seq <= 3; seq++) { below.send(eventFrame(0x71, seq)); own.send(eventFrame(0x72, seq)); }
    const stored = (child: BridgeChild, name: string) => query(["--bridge", `http://127.0.0.1:${child.ready.http}`, "--spool", join(d, name, "spool")], "SELECT device, seq FROM events ORDER BY device, seq");
    const both = [0x71, 0x72].flatMap((dev) => [1, 2, 3].map((seq) => ({ device: hex(dev), seq })));
    await waitFor(async () => (await stored(c, "c")).length === 6, "both devices' events at the relay's target", 30_000);
    expect(await stored(c, "c")).toEqual(both);
    // The rule without relay: matched all six at the hub, sent only the hub's own device's.
    const matched = async () => Number(/^iotfw_bridge_rule_rows_total\{rule="own"\} (\d+)/m.exec(await (await fetch(`http://127.0.0.1:${hub.ready.http}/metrics`)).text())?.[1] ?? 0);
    await waitFor(async () => await matched() === 6, "the hub's rule saw every event", 30_000);
    // Every frame the hub took confirmed by its rules (both targets acknowledged): what D has is all it gets.
    const settled = async () => {
      const text = await (await fetch(`http://127.0.0.1:${hub.ready.http}/metrics`)).text();
      const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
      return sum(/^iotfw_bridge_frames_out_total\{upstream="rules"\} (\d+)/gm) === sum(/^iotfw_bridge_frames_in_total\{[^}]*\} (\d+)/gm);
    };
    await waitFor(settled, "the hub's rules confirmed every frame", 30_000);
    expect(await stored(dd, "d")).toEqual(both.filter((r) => r.device === hex(0x72)));
  }, 120_000);

  it("a window rule publishes to an MQTT topic; a per-frame rule writes to the log", async () => {
    const d = dir();
    const broker = await Mosquitto.start();
    cleanups.push(async () => { await broker.stop(); rmSync(broker.dir, { recursive: true, force: true }); });
    // The expected answer, from a dry run of the same seeded fleet: each device's mean of its temperature
    // windows, and a threshold between the devices' means so that some are over it and some are not.
    const sent = await simulate(join(d, "dry.ndjson"), "1/1");
    const means = new Map<string, { sum: number; n: number }>();
    for (const m of sent) if (m.type === "summary") for (const c of m.channels!) if (c.name === "temperature") {
      const a = means.get(hex(m.device)) ?? { sum: 0, n: 0 };
      a.sum += c.mean; a.n++; means.set(hex(m.device), a);
    }
    const avg = [...means].map(([device, a]) => ({ device, mean: a.sum / a.n })).sort((x, y) => x.mean - y.mean);
    const threshold = (avg[1].mean + avg[2].mean) / 2;
    const hot = avg.filter((x) => x.mean > threshold).sort((x, y) => x.device.localeCompare(y.device));
    expect(hot).toHaveLength(2);
    const rulesFile = join(d, "rules.sql");
    writeFileSync(rulesFile, [
      "-- rule: hot-devices",
      "-- every: 500ms",
      "-- window: 1h",
      `-- to: ${broker.url}/pi-a/hot`,
      "SELECT device, avg(mean) AS mean, count(*) AS windows",
      "FROM summaries WHERE name = 'temperature'",
      `GROUP BY device HAVING avg(mean) > ${threshold} ORDER BY device;`,
      "",
      "-- rule: alerts",
      "-- to: log",
      "SELECT device, seq, value FROM events WHERE kind = 'alert_high';",
      ""].join("\n"));
    const client = await mqtt.connectAsync(broker.url, { clientId: "rules-test", protocolVersion: 4 });
    cleanups.push(() => client.endAsync(true).then(() => undefined));
    const got: Row[] = [];
    client.on("message", (topic, payload) => { if (topic === "pi-a/hot") got.push(JSON.parse(payload.toString()) as Row); });
    await client.subscribeAsync("pi-a/hot", { qos: 1 });
    const b = await bridge(["--spool", join(d, "spool"), "--upstream", `file:${join(d, "up.ndjson")}`, "--rules", rulesFile]);
    expect(b.stderr.join("")).toContain(`rules: alerts -> log; hot-devices (every 500 ms over 3600000 ms) -> ${broker.url}/pi-a/hot`);
    expect(await simulate(join(d, "sent.ndjson"), "1/1", `tcp://127.0.0.1:${b.ready.tcp}`)).toEqual(sent);

    // Evaluated every 500 ms while the frames come in: the answers grow to the whole fleet's, then stay.
    const windows = new Map([...means].map(([device, a]) => [device, a.n]));
    const last = () => got.slice(-hot.length);
    await waitFor(() => got.length >= hot.length && last().every((r) => r.windows === windows.get(r.device as string))
      && last().map((r) => r.device).join() === hot.map((h) => h.device).join(), "the window rule's answer over every window", 30_000);
    for (const [i, r] of last().entries()) {
      expect(Object.keys(r)).toEqual(["device", "mean", "windows"]);
      expect(r.device).toBe(hot[i].device);
      expect(r.mean as number).toBeCloseTo(hot[i].mean, 9);
    }
    // No row of a device under the threshold, in any evaluation.
    expect(got.every((r) => hot.some((h) => h.device === r.device) || (r.mean as number) > threshold)).toBe(true);

    // The per-frame rule: one log line per alert, as JSON.
    const alerts = sent.filter((m) => m.type === "event" && m.kind === "alert_high");
    const lines = () => b.stderr.join("").split("\n").filter((l) => l.startsWith("bridge: rule alerts: "));
    await waitFor(() => lines().length === alerts.length, "a log line per alert");
    expect(lines().map((l) => JSON.parse(l.slice("bridge: rule alerts: ".length)) as Row).sort((x, y) => String(x.device).localeCompare(String(y.device)) || (x.seq as number) - (y.seq as number)))
      .toEqual(alerts.map((m) => ({ device: hex(m.device), seq: m.seq, value: m.value })).sort((x, y) => x.device.localeCompare(y.device) || x.seq - y.seq));
  }, 60_000);

  it("refuses a rule DuckDB refuses, with its message and the file's line, and bad headers", async () => {
    const d = dir();
    let n = 0;
    /** The bridge started on `text`: it exits 1 before it listens, with the user's error (the file named rules.sql). */
    const start = async (text: string) => {
      const file = join(d, `rules-${++n}.sql`);
      writeFileSync(file, text);
      const r = await runCli(["bridge", "--listen", "tcp://127.0.0.1:0", "--http", "127.0.0.1:0", "--spool", join(d, `spool-${n}`),
        "--upstream", `file:${join(d, `up-${n}.ndjson`)}`, "--rules", file]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/\n\s+at /); // the user's error, not a stack
      return r.stderr.replaceAll(file, "rules.sql");
    };
    const good = "-- rule: ok\n-- to: log\nSELECT * FROM events;\n\n";
    const cases: Array<[string, string | RegExp]> = [
      // A misspelt column on the statement's third line, the file's ninth.
      [`${good}-- rule: hot\n-- to: log\nSELECT device,\n  avg(mean) AS m\nFROM summaries WHERE nmae = 'temperature'\nGROUP BY device;\n`,
        /rules\.sql:9: rule "hot" refused by DuckDB: Binder Error: Referenced column "nmae" not found[\s\S]*LINE 9:/],
      [`${good}-- rule: typo\n-- to: log\nSELEC 1;\n`, /rules\.sql:7: rule "typo" refused by DuckDB: Parser Error: syntax error at or near "SELEC"/],
      [`${good}-- rule: table\n-- to: log\nSELECT * FROM sumaries;\n`, /rules\.sql:7: rule "table" refused by DuckDB: Catalog Error: Table with name sumaries does not exist/],
      ["-- rule: del\n-- to: log\nDELETE FROM events;\n", 'rules.sql:3: rule "del": a rule is a SELECT'],
      [`${good}-- rule: x\n-- too: log\nSELECT 1;\n`, 'rules.sql:6: unknown key "too:"'],
      ["-- rule: x\n-- to: udp://127.0.0.1:9\nSELECT 1;\n", 'rules.sql:1: rule "x": "to: udp://127.0.0.1:9": unsupported target udp:'],
      ["-- rule: x\n-- to: tcp://127.0.0.1\nSELECT * FROM events;\n", "a bridge target needs a port"],
      ["-- rule: x\n-- to: mqtt://127.0.0.1:1883\nSELECT 1;\n", "give the topic to publish on"],
      ["-- rule: x\n-- to: tcp://127.0.0.1:7600\nSELECT device, count(*) FROM events GROUP BY device;\n", "must select device, session and seq"],
      ["-- rule: x\n-- every: 10s\n-- to: tcp://127.0.0.1:7600\nSELECT * FROM events;\n", "is a window rule (every:) and cannot go to tcp://"],
      ["-- rule: x\n-- every: soon\n-- to: log\nSELECT 1;\n", /rules\.sql:1: every:/],
      ["-- rule: x\n-- to: tcp://127.0.0.1:7600\n-- relay: maybe\nSELECT * FROM events;\n", 'rules.sql:1: rule "x": "relay: maybe" must be yes or no'],
      ["-- rule: x\n-- to: log\n-- relay: yes\nSELECT * FROM events;\n", 'rule "x" has "relay:" but no tcp:// target'],
      ["-- rule: x\n-- to: log\nSELECT 1;\n-- rule: x\n-- to: log\nSELECT 2;\n", 'rule "x" is named twice'],
      ["-- to: log\nSELECT 1;\n", 'rules.sql:2: a statement without "-- rule: <name>" before it'],
      ["-- nothing here\n", "no rules"],
    ];
    // The bridge as a user runs it, on three of them; the rest straight from RulesUpstream.open (the same
    // check, without a process each).
    const cli = new Set([0, 4, 5]);
    const errors = await Promise.all(cases.map(async ([text], i) => {
      if (cli.has(i)) return start(text);
      const file = join(d, `direct-${i}.sql`);
      writeFileSync(file, text);
      const e = await RulesUpstream.open(file, { log: () => undefined }).then(async (r) => { await r.close(); return null; }, (x: unknown) => x);
      expect(e).toBeInstanceOf(RulesError);
      return (e as Error).message.replaceAll(file, "rules.sql");
    }));
    for (const [i, [, want]] of cases.entries()) {
      if (typeof want === "string") expect(errors[i]).toContain(want);
      else expect(errors[i]).toMatch(want);
    }
  }, 60_000);
});
