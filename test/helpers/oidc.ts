/**
 * A real OpenID Connect provider on loopback for tests: `oidc-provider` with its development
 * login form (any login, any password: the login becomes the subject) and consent page.
 * Accounts' emails come from `emails` (default `<login>@example.com`, verified).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

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
