/**
 * Request targets (RFC 9112 §3.2). vigil serves origin-form only: "/path?query". An
 * absolute-form target ("http://host/path") or a scheme-relative one ("//host/path",
 * also spelt "/\host/path", which WHATWG URL parsing treats alike) names another host;
 * resolved against a base URL it replaces the base's host, which turned leader
 * forwarding into a request to any host (issue 8, defect 2). Authority-form is CONNECT's,
 * which node:http never hands to the router.
 */

/** The target's path and query when it is origin-form; null otherwise. */
export function originFormTarget(target: string | undefined): { pathname: string; search: string } | null {
  if (target === undefined || target[0] !== '/' || target[1] === '/' || target[1] === '\\') return null;
  let url: URL;
  try {
    url = new URL(target, 'http://origin.invalid');
  } catch {
    return null;
  }
  // Belt and braces: whatever the spelling, parsing must not have moved to another host.
  if (url.host !== 'origin.invalid') return null;
  return { pathname: url.pathname, search: url.search };
}

export const BAD_TARGET_CODE = 'BAD_REQUEST_TARGET';
export const BAD_TARGET_MESSAGE = 'the request target must be a path such as "/api/v1/status" (origin-form); absolute URLs and "//host" targets are refused';
