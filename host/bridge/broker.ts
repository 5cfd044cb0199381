// The embedded MQTT broker the bridge starts when no upstream is given (aedes; docs/mqtt.md "Embedded
// broker"): listens on loopback, port 1883 by default, in memory only. May touch: the port it binds.
import { createServer, type AddressInfo, type Server } from "node:net";
import { Aedes } from "aedes";

export const EMBEDDED_BROKER_PORT = 1883;

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(host = "127.0.0.1", port = EMBEDDED_BROKER_PORT): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  const sockets = new Set<import("node:net").Socket>();
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) =>
        reject(new Error(e.code === "EADDRINUSE" ? `embedded broker: ${host}:${port} is in use (is another broker running? give --upstream mqtt://... or --broker host:port)` : e.message)));
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    // aedes's own timers would keep the process alive after the error was reported (issue 13: the
    // bridge printed it and hung).
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw e;
  }
  const bound = (server.address() as AddressInfo).port;
  const h = host.includes(":") ? `[${host}]` : host;
  return {
    url: `mqtt://${h}:${bound}`,
    port: bound,
    close: async () => {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
