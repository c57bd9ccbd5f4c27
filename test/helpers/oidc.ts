/**
 * A real OpenID Connect provider on loopback for tests: `oidc-provider` with its development
 * login form (any login, any password: the login becomes the subject) and consent page.
 * Accounts' emails come from `emails` (default `<login>@example.com`, verified).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import assert from "node:assert/strict";
import Provider from "oidc-provider";
import type { Page } from "playwright-core";

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export async function startIdp(opts: { redirectUris: string[]; emails?: Record<string, { email: string; verified?: boolean }> }): Promise<TestIdp> {
  const server: Server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = "ward-test";
  const clientSecret = "ward-test-secret-0123456789abcdef";
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: opts.redirectUris, grant_types: ["authorization_code"], response_types: ["code"], token_endpoint_auth_method: "client_secret_post" }],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ["ward-test-cookie-key-0123456789"] },
    async findAccount(_ctx, id) {
      const e = opts.emails?.[id] ?? { email: `${id}@example.com` };
      return { accountId: id, claims: async () => ({ sub: id, email: e.email, email_verified: e.verified ?? true, name: id }) };
    },
  });
  // oidc-provider warns about development settings on every start; tests know.
  server.on("request", provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/**
 * Runs the provider's development login and consent in a browser page as `login` (skipped when the
 * provider remembers this browser); returns once the page has left the provider.
 */
export async function signInAtIdp(page: Page, idp: TestIdp, login: string): Promise<void> {
  for (let step = 0; step < 4 && page.url().startsWith(idp.issuer); step++) {
    const before = page.url();
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', login);
      await page.fill('input[name="password"]', "any");
    }
    await page.click('button[type="submit"]'); // sign in, then consent
    await page.waitForURL((u) => u.href !== before, { timeout: 15_000 });
  }
  assert.ok(!page.url().startsWith(idp.issuer), `still at the provider: ${page.url()}`);
}
