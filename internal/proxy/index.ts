/** The kubectl proxy path: the edge (which requests and upgrades are whose), gateway handler, agent upstream, header policy, Status errors. */
export { captureBody, type BodyCapture } from "./body_capture.ts";
export { KubeProxy, type Authorize, type AuthRequest, type ExchangeRecord, type ProxyDeps } from "./handler.ts";
export { createUpstreamHandler, type UpstreamOptions } from "./upstream.ts";
export { parseProxyPath, PROXY_PREFIX, type ProxyTarget } from "./path.ts";
export { LiveStreams, requestNamespace, type AuthorizingGrant, type Revocation, type StreamAuthority } from "./live.ts";
export {
  gatewayRequestHeaders, requestId, upstreamRequestHeaders, responseHeaders, streamKind, isUpgradeRequest, requestedImpersonation,
  MissingIdentityError, IDENTITY_HEADER, type Identity,
} from "./headers.ts";
export { edgeListeners, requestOwner, upgradeOwner, type EdgeRoutes, type ProxyRoutes, type RequestHandler, type RequestOwner, type UpgradeHandler, type UpgradeOwner } from "./edge.ts";
export { protocolOf, type EdgeRequest, type EdgeResponse, type Protocol } from "./protocol.ts";
export { kubeStatus, ProxyError, statusResponseBytes, writeStatus, type KubeStatus } from "./status.ts";
