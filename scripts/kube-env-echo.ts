/**
 * The TCP echo server behind the kwok pod's port-forward: every byte received is sent back.
 * Started by `kube-env up`; writes its port to the file named by its only argument once listening.
 */
import { writeFileSync, renameSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";

const portFile = process.argv[2];
if (!portFile) {
  process.stderr.write("Usage: kube-env-echo.ts <port-file>\n");
  process.exit(2);
}

const server = createServer((socket) => {
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  writeFileSync(`${portFile}.tmp`, String(port));
  renameSync(`${portFile}.tmp`, portFile);
  process.stdout.write(`echo server listening on 127.0.0.1:${port}\n`);
});
process.on("SIGTERM", () => process.exit(0));
