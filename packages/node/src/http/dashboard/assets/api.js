/**
 * The dashboard's calls to its node's `/api/…` endpoints, and the refresh loop that
 * keeps a panel live.
 */

/** An error reply of the API: `code` is the stable code (`BAD_REQUEST`, `PERIOD_NOT_ENABLED`, …). */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
  }
}

/**
 * GETs `path` with the non-empty `params` as its query and returns the parsed JSON.
 * @throws {ApiError} for an error reply, with its code and message
 */
export async function getJson(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
  let res;
  try {
    res = await fetch(url, { headers: { accept: "application/json" } });
  } catch (err) {
    throw new ApiError("UNREACHABLE", `the node does not answer (${err.message})`, 0);
  }
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    const e = body?.error;
    throw new ApiError(e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, res.status);
  }
  return body;
}

/** `CODE: message` for a status line. */
export function describeError(err) {
  return err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
}

/**
 * Runs `task` now and again `ms` after each run ends, skipping runs while the page is
 * hidden. Returns a function that runs it now (after the run in flight, if any), so a
 * new query shows at once.
 */
export function every(ms, task) {
  let timer;
  let running = false;
  let again = false;
  const run = async () => {
    clearTimeout(timer);
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      if (document.visibilityState !== "hidden") await task();
    } finally {
      running = false;
      if (again) {
        again = false;
        void run();
      } else timer = setTimeout(run, ms);
    }
  };
  void run();
  return run;
}
