/**
 * The service's version.
 *
 * @module
 */

/** The service's version, reported by `GET /healthz` and in the OpenAPI document. */
export const SERVER_VERSION = "0.1.0";
