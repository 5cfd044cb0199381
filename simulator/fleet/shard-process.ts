// Entry point of a shard child process: answers ShardRequests from the fleet over IPC, one at a time.
import { ShardServer, type ShardRequest } from "./shard-host.js";

const server = new ShardServer();
// Requests come one at a time (the fleet awaits each reply), so handling them in turn keeps their order.
let queue: Promise<void> = Promise.resolve();
process.on("message", (req: ShardRequest) => {
  queue = queue.then(async () => {
    const reply = await server.handle(req);
    process.send!(reply);
    if (req.op === "stop") process.exit(0);
  });
});
process.on("disconnect", () => process.exit(0));
// The fleet stops its shards itself (a stop request, or the IPC channel closing when the parent exits).
// A shard runs in its own process group (shard-host.ts), out of a terminal's Ctrl-C; a SIGINT sent to it
// anyway (kill -INT to a group it was put back in, a tool's own process handling) is ignored likewise.
process.on("SIGINT", () => undefined);
