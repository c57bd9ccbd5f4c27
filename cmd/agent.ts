import type { Invocation } from "../internal/cli/command.ts";
import { UsageError } from "../internal/cli/command.ts";

export async function runAgent(inv: Invocation): Promise<number> {
  const gateway = (inv.flags.gateway as string | undefined) ?? process.env.WARD_GATEWAY;
  if (!gateway) throw new UsageError("Missing --gateway URL (or WARD_GATEWAY)", inv.path);
  inv.io.err("Error: the agent's connection to the gateway is not part of this build yet\n");
  return 1;
}
