#!/usr/bin/env node
/**
 * The `ward` executable: `gateway`, `agent`, `cli` (whose commands also work at top level).
 * This file only dispatches; heavy modules load lazily inside the command that needs them.
 */
import { execute } from "../internal/cli/command.ts";
import { rootCommand } from "./commands.ts";

const io = {
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
};

execute(rootCommand, process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    io.err(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.WARD_DEBUG && err instanceof Error && err.stack) io.err(err.stack + "\n");
    // A role that failed while starting may hold connections open (a NATS cluster, a database
    // pool): the error is final, so exit now rather than linger.
    process.exit(1);
  },
);
