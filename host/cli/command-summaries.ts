// What `iotfw --help` lists: each command's name, usage and one-line summary, in one table that the
// command modules take their descriptions from. The top-level help and --version are built from this
// table alone, without importing a command module (the build and simulate commands pull in the
// AssemblyScript compiler and wabt: ~1 s before anything is printed). main.test.ts checks the table's
// usage strings against the modules. Pure data.

export interface CommandSummary {
  /** Arguments as commander prints them after "[options]" (empty when none). */
  args: string;
  summary: string;
  /** false for a command without options of its own (the listing then shows no "[options]"). */
  options?: false;
}

export const COMMAND_SUMMARIES = {
  bridge: { args: "", summary: "forward device frames from serial ports and TCP to MQTT, HTTP, another bridge or NDJSON, through a durable spool" },
  build: { args: "", summary: "compile an app to Wasm, check it against a board, and pack it for flash" },
  completion: { args: "<shell>", options: false, summary: "print a shell completion script (bash or zsh): iotfw completion bash > ~/.local/share/bash-completion/completions/iotfw" },
  ctl: { args: "<device> <command...>", summary: "send a control command to a device, through a running bridge or to its deploy port (--device), and wait for its ACK" },
  deploy: { args: "<device>", summary: "build an app and install it on a running device over TCP (no reflash of the runtime)" },
  dev: { args: "", summary: "run the app on simulated devices, print their frames, and rebuild and hot-deploy it on every save (--only: chosen devices; --device host:port: a board's or a fleet's deploy port)" },
  doctor: { args: "", summary: "check which tools this machine has for each iotfw feature, and how to get the missing ones" },
  emulate: { args: "", summary: "run a virtual ESP32 (ROM bootloader, flash in a file, boots the flashed app) on a pty or TCP port" },
  flash: { args: "<port>", summary: "write the app (and the partition table if the device lacks the Wasm partition) to an ESP32" },
  init: { args: "<dir>", summary: "create a new app folder that builds with `iotfw build --app <dir>`" },
  monitor: { args: "<port>", summary: "show decoded frames from a serial port or socket://host:port" },
  ports: { args: "", summary: "list serial ports, with a hint for likely ESP boards" },
  query: { args: "<sql>", summary: "answer SQL from a bridge's edge store (--store DIR, or --bridge http://host:port of a running bridge)" },
  simulate: { args: "", summary: "run N virtual devices with the app's real app.wasm against simulated sensors" },
} satisfies Record<string, CommandSummary>;

export type CommandName = keyof typeof COMMAND_SUMMARIES;
