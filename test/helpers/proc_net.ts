/** A process's TCP connections, read from /proc (Linux): for tests and benchmarks that count connections. */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** The socket inodes a process holds (from its descriptors in /proc/PID/fd). */
function socketInodes(pid: number | "self"): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** Established TCP connections (/proc/net/tcp, tcp6) held by `pid`: [local port, remote port]. */
export function tcpConnections(pid: number | "self"): [number, number][] {
  const inodes = socketInodes(pid);
  const out: [number, number][] = [];
  const port = (addr: string) => Number.parseInt(addr.slice(addr.lastIndexOf(":") + 1), 16);
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] === "01" && inodes.has(f[9]!)) out.push([port(f[1]!), port(f[2]!)]);
    }
  }
  return out;
}
