// Entry point of a shard child process: answers ShardRequests from the fleet over IPC, one at a time.
import { ShardServer, type ShardRequest } from "./shard-host.js";

const server = new ShardServer();
process.on("message", (req: ShardRequest) => {
  const reply = server.handle(req);
  process.send!(reply);
  if (req.op === "stop") process.exit(0);
});
process.on("disconnect", () => process.exit(0));
