/**
 * What dist/ward's bundles take from undici: the build resolves `undici` to this file
 * (scripts/bundle_options.ts); running from source uses the package's index as it is.
 *
 * undici's index requires all of undici when it loads: besides the dispatchers and fetch, the
 * WebSocket and EventSource clients, caches and cookies, the mock agents, the cache stores and every
 * interceptor. Bundled, that is 190 KiB more minified source, which V8 keeps in the heap for the
 * process's life, and modules run at every start. Ward's code imports `Pool` (the proxy path and the
 * agent's RBAC client) and client-node imports `fetch`, `Agent` and `ProxyAgent`: these are
 * undici's own modules for them, under the same names. The deep paths are undici's files; if a
 * release moves one, the build fails to resolve it (it does not fall back to the index).
 */
import type * as undici from "undici";

const Dispatcher = require("undici/lib/dispatcher/dispatcher.js") as typeof undici.Dispatcher;
// The index gives every dispatcher request(), stream(), pipeline(), connect() and upgrade() this way.
Object.assign(Dispatcher.prototype, require("undici/lib/api/index.js"));

export { Dispatcher };
export const Pool = require("undici/lib/dispatcher/pool.js") as typeof undici.Pool;
export const Agent = require("undici/lib/dispatcher/agent.js") as typeof undici.Agent;
export const ProxyAgent = require("undici/lib/dispatcher/proxy-agent.js") as typeof undici.ProxyAgent;
export const fetch = (require("undici/lib/web/fetch/index.js") as { fetch: typeof undici.fetch }).fetch;
