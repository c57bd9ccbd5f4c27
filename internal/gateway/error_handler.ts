/**
 * The one shape of the gateway's route error handlers: an HttpError the surface owns is rendered
 * the surface's way (its `Retry-After` set first); anything else is logged with the request path
 * and answered as that surface's internal error. Each surface keeps its own rendering: JSON
 * `{ error, reason }` on the APIs, OAuth `{ error, error_description }` on the sign-in endpoints,
 * HTML on portal pages (the proxy path writes a Kubernetes `Status`, outside hono).
 */
import type { Context, Env, ErrorHandler } from "hono";
import { HttpError } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import { isStoreBusy, isStoreFull, isStoreUnavailable } from "../store/index.ts";

/** Seconds a client is asked to wait when the database cannot be reached. */
const STORE_RETRY_AFTER = 5;

export interface HttpErrorHandlerOptions<E extends Env, T extends HttpError> {
  /** The errors this surface answers as refusals (its areas' HttpError classes). */
  owns: (err: Error) => err is T;
  /** Also renders `StoreUnavailable` (503): the database cannot be reached right now. */
  render: (err: T | HttpError, c: Context<E>) => Response | Promise<Response>;
  /** How the surface says "internal error"; `err` has been logged as `logMessage`. */
  internal: (c: Context<E>) => Response | Promise<Response>;
  logger: Logger;
  logMessage: string;
}

export function httpErrorHandler<E extends Env, T extends HttpError>(opts: HttpErrorHandlerOptions<E, T>): ErrorHandler<E> {
  return function onHttpError(err, c) {
    if (isStoreFull(err)) {
      // The disk under the database is full: the write was refused whole (its transaction rolled back).
      opts.logger.error("store full: a write was refused", { path: c.req.path, cause: (err as { code?: string }).code });
      err = new HttpError(507, "StoreFull", "The gateway's database is out of disk space, so nothing was changed: free space on the disk that holds it, then retry (reads keep working)");
    } else if (isStoreUnavailable(err)) {
      // Not a bug here: the database went away (or is busy). Said once per request, without the query.
      const busy = isStoreBusy(err);
      opts.logger.warn(busy ? "store busy" : "store unavailable", { path: c.req.path, cause: (err as { code?: string }).code ?? err.message });
      const message = busy
        ? "The gateway's database is locked by another process, so nothing was changed; try again shortly"
        : "The gateway cannot reach its database right now; try again shortly";
      err = new HttpError(503, "StoreUnavailable", message, { retryAfter: STORE_RETRY_AFTER });
    }
    if (opts.owns(err) || (err instanceof HttpError && (err.reason === "StoreUnavailable" || err.reason === "StoreFull"))) {
      if (err.retryAfter !== undefined) c.header("Retry-After", String(err.retryAfter));
      return opts.render(err, c);
    }
    opts.logger.error(opts.logMessage, { err, path: c.req.path });
    return opts.internal(c);
  };
}
