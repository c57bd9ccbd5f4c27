/**
 * The message bus every layer above the transport talks to.
 *
 * It is a structural subset of `@nats-io/nats-core`'s `NatsConnection`, so a real
 * connection (`wsconnect`) satisfies it unchanged, and so does the embedded endpoint's
 * in-process client. Code above this interface cannot tell which one it has.
 *
 * Contract for implementations:
 * - `publish` never calls a subscription callback re-entrantly; deliveries are in order
 *   per (publisher, subscription).
 * - Payloads larger than `maxPayload` are rejected by `publish` with an error.
 */
export interface BusMsg {
  readonly subject: string;
  readonly reply?: string;
  readonly data: Uint8Array;
}

export type BusCallback = (err: Error | null, msg: BusMsg) => void;

export interface BusSubscriptionOptions {
  queue?: string;
  max?: number;
  callback: BusCallback;
}

export interface BusSubscription {
  unsubscribe(max?: number): void;
}

export interface BusPublishOptions {
  reply?: string;
  /**
   * The caller hands `payload` over and never changes it afterwards, so an in-process bus may pass
   * it on to sockets without copying it (large payloads). Other buses ignore it.
   */
  transfer?: boolean;
}

export interface Bus {
  publish(subject: string, payload?: Uint8Array, options?: BusPublishOptions): void;
  subscribe(subject: string, opts: BusSubscriptionOptions): BusSubscription;
  request(subject: string, payload?: Uint8Array, opts?: { timeout: number }): Promise<BusMsg>;
  flush(): Promise<void>;
  close(): Promise<void>;
  closed(): Promise<void | Error>;
  /** The largest payload the server accepts (INFO max_payload). */
  readonly info?: { max_payload: number } | undefined;
}

export { subjects } from "./subjects.ts";
export { agentConnectionName, agentInstanceOf } from "./agent_name.ts";
export {
  accessSubjects, ROLES, SCOPES,
  type AgentHello, type DesiredGrant, type DesiredStateMsg, type GrantRole, type GrantScope, type GrantStatusUpdate, type StatusReportMsg,
} from "./access_messages.ts";
