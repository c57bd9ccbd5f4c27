/** `ward login` (device flow) approved the way the portal does it, for tests and benchmarks. */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { start } from "./process.ts";

export interface PortalTarget {
  /** The gateway's https URL. */
  url: string;
  caFile: string;
  /** The gateway's one-time bootstrap code: the admin whose portal session approves the device. */
  bootstrapCode: string;
}

/** Approves a device code as the portal does: a session (the bootstrap admin's), the CSRF token, Approve. */
export async function approveInPortal(t: PortalTarget, userCode: string, deviceName?: string): Promise<void> {
  const ca = readFileSync(t.caFile);
  const u = new URL(t.url);
  const http = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path, method, ca, headers }, (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const login = await http("POST", "/bootstrap", form, new URLSearchParams({ code: t.bootstrapCode }).toString());
  if (login.status !== 302) throw new Error(`bootstrap sign-in: ${login.status} ${login.text}`);
  const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
  const page = await http("GET", `/device?user_code=${encodeURIComponent(userCode)}`, { cookie });
  if (page.status !== 200) throw new Error(`device page: ${page.status} ${page.text}`);
  if (deviceName !== undefined && !page.text.includes(deviceName)) throw new Error(`the approval page does not name the device ${deviceName}`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (!csrf) throw new Error("no CSRF token on the device page");
  const ok = await http("POST", "/device", { ...form, cookie }, new URLSearchParams({ _csrf: csrf, user_code: userCode, action: "approve" }).toString());
  if (!/Device approved/.test(ok.text)) throw new Error(`device approval: ${ok.status} ${ok.text}`);
}

/** Runs `ward login` with `env` (its config/cache dirs) and approves it; resolves with its output. */
export async function deviceLogin(ward: string, t: PortalTarget, env: NodeJS.ProcessEnv, deviceName = "e2e runner"): Promise<string> {
  const login = start(ward, ["login", "--gateway", t.url, "--certificate-authority", t.caFile, "--device-name", deviceName], { env: { ...env, WARD_TOKEN: "" } });
  const [, userCode] = await login.waitFor(/check that it shows the code\s+([B-Z]{4}-[B-Z]{4})/);
  await approveInPortal(t, userCode!, deviceName);
  const code = await login.stop("SIGCONT" as NodeJS.Signals, 30_000);
  if (code !== 0) throw new Error(`ward login exited ${code}: ${login.output()}`);
  return login.output();
}
