/** The long-running roles. Loaded only when one of them runs (see lazy.ts). */
export { runGateway } from "./gateway.ts";
export { runAgent } from "./agent.ts";
