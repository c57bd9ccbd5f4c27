/**
 * What the run has open (gateways, agents, sockets, the simulated agents), closed in reverse order
 * at the end, on failure and on SIGINT/SIGTERM alike.
 */
import { log } from "../bench-proxy/config.ts";

const closers: { name: string; close: () => unknown }[] = [];

/** Registers something to close; returns a function that closes it now (and unregisters it). */
export function defer(name: string, close: () => unknown): () => Promise<void> {
  const entry = { name, close };
  closers.push(entry);
  return async () => {
    const i = closers.indexOf(entry);
    if (i < 0) return;
    closers.splice(i, 1);
    await close();
  };
}

/** Closes everything still registered, newest first; a failure is logged and the rest still close. */
export async function closeAll(): Promise<void> {
  while (closers.length) {
    const { name, close } = closers.pop()!;
    try {
      await close();
    } catch (err) {
      log(`clean-up of ${name}: ${(err as Error).message}`);
    }
  }
}
