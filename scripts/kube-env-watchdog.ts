/**
 * Stops a kube-env environment when its owner process dies (a test run that crashed or was killed
 * before its `after` hook ran). Started by `kube-env up --owner-pid P`; checks once a second.
 */
import { down } from "./kube-env-up.ts";

const [dir, ownerArg] = process.argv.slice(2);
const owner = Number(ownerArg);
if (!dir || !Number.isInteger(owner) || owner <= 0) {
  process.stderr.write("Usage: kube-env-watchdog.ts <env-dir> <owner-pid>\n");
  process.exit(2);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

process.on("SIGTERM", () => process.exit(0));
const timer = setInterval(() => {
  if (alive(owner)) return;
  clearInterval(timer);
  process.stdout.write(`owner pid ${owner} is gone: stopping the environment in ${dir}\n`);
  down({ dir }).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}, 1000);
