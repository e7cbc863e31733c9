// The security headers every response carries, in one place: the app applies them with Hono's secureHeaders
// middleware, and the Node-level answers that never reach the app (400 for requests that cannot be routed, 413 for
// bodies over the limit) copy the same values, computed once from that middleware so the two cannot drift apart.
// - No X-Frame-Options: CSP `frame-ancestors 'none'` is the one rule (X-Frame-Options: SAMEORIGIN said the
//   opposite; browsers that know CSP ignore X-Frame-Options when frame-ancestors is present).
// - No Strict-Transport-Security: the service speaks plain HTTP, and RFC 6797 §7.2 says HSTS sent over plain HTTP
//   must be ignored; TLS, where there is any, ends in front of it, and that is where HSTS belongs.
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

export const securityHeaders = () =>
  secureHeaders({
    // Pages are self-contained: inline styles, no external resources. Scripts only from this origin (/watch.js,
    // never inline), which may only call this origin (the live page asks /visits).
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      styleSrc: ["'unsafe-inline'"],
      scriptSrc: ["'self'"],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: false,
    strictTransportSecurity: false,
  });

/**
 * Runs the middleware once against a stand-in for Hono's context that holds only the response headers it sets:
 * `Hono.request()` would build a web Request and Response, and the first of those loads Node's undici (about 40 ms
 * of start-up, docs/benchmarks.md) before the server could even listen.
 */
async function collect(): Promise<Record<string, string>> {
  // Names lower-cased, as a Headers object gives them. (Headers itself is undici's too.)
  const set = new Map<string, string>();
  const headers = {
    has: (name: string) => set.has(name.toLowerCase()),
    set: (name: string, value: string) => void set.set(name.toLowerCase(), value),
    delete: (name: string) => void set.delete(name.toLowerCase()),
  };
  const context = { res: { headers }, get: () => undefined, set: () => undefined };
  await securityHeaders()(context as unknown as Parameters<MiddlewareHandler>[0], async () => {});
  // Sorted as Headers sorts them; plain < because localeCompare would load ICU's collator (about 9 ms of start-up).
  return Object.fromEntries([...set].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The headers the middleware sets, as a plain record for node:http's writeHead. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(await collect());
