/**
 * `node scripts/with-postgres.ts -- CMD ARGS…`: runs CMD with a fresh PostgreSQL server (Debian's,
 * on 127.0.0.1, in a temporary data directory) and `WARD_TEST_STORE=postgres`,
 * `WARD_TEST_PG_URL=postgres://…` in its environment; stops and removes the server after. Exits with
 * CMD's status. `npm test` runs the store and access suites through it.
 */
import { spawn } from "node:child_process";
import { startPostgres } from "../test/helpers/postgres.ts";

const sep = process.argv.indexOf("--");
const [cmd, ...args] = sep < 0 ? [] : process.argv.slice(sep + 1);
if (!cmd) {
  console.error("usage: node scripts/with-postgres.ts -- CMD [ARGS…]");
  process.exit(2);
}
const pg = await startPostgres();
const db = await pg.createDatabase("ward_test");
const child = spawn(cmd, args, { stdio: "inherit", env: { ...process.env, WARD_TEST_STORE: "postgres", WARD_TEST_PG_URL: pg.url(db) } });
const code = await new Promise<number>((resolve) => child.once("exit", (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await pg.destroy();
process.exit(code);
