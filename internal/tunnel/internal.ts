/** Internal exports for sibling modules, tests and benchmarks (not the public face). */
export * from "./frame.ts";
export * from "./frame_decode.ts";
export * from "./flow.ts";
export * from "./presence.ts";
export * from "./subjects.ts";
export { Session } from "./session.ts";
export { resolveOptions, realClock } from "./options.ts";
