/** Errors shared by every area: the one HTTP error base. Light: no imports. This file is the area's only public face. */
export { HttpError, type HttpErrorOptions } from "./http_error.ts";
