// JSON requests to the project's own API, with the session cookie and a CSRF token.

/** The CSRF token Django set as a cookie (pages that have no token in their config). */
export function csrfCookie() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/**
 * Send `body` as JSON; resolves to `{ok, status, payload}` (payload `{}` when the answer is not
 * JSON). Rejects only when nothing answered.
 */
export async function requestJson(method, url, body, csrfToken = csrfCookie()) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    payload = {};
  }
  return { ok: response.ok, status: response.status, payload, statusText: response.statusText };
}
