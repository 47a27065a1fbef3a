/**
 * Whether the service is open to other machines without a token, and the warning that says so
 * (private to server/).
 *
 * @module
 */

/** Whether `host` is a loopback address (only this machine can connect). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}

/**
 * Warns on stderr, once, when the service may be reachable from other machines (`host` not
 * loopback) without a bearer token.
 *
 * @param env The settings (`SEGLOSS_TOKEN`).
 * @param host The address the server binds to.
 * @returns Whether it warned.
 */
export function warnIfOpen(env: Record<string, string | undefined>, host: string): boolean {
  if (env.SEGLOSS_TOKEN || isLoopback(host)) return false;
  console.warn(
    `\n*** segloss: listening on ${host} WITHOUT A TOKEN: anyone who can reach this port can ` +
      "use the service. Set SEGLOSS_TOKEN, or HOST=127.0.0.1 to listen on this machine only ***\n",
  );
  return true;
}
