// Talking to the localkb HTTP API: JSON calls, uploads with progress, streamed answers.
// The token (when the server needs one) comes from the URL the server printed (`/?token=T`, taken off the
// address bar at once), or from the prompt; it is kept in sessionStorage and sent as X-API-Key on every call.
// Every call also sends X-LocalKB-Request: a header no other web page can make the browser send here.

const TOKEN_KEY = "localkb.token";

(function takeTokenFromURL() {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (token === null) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
})();

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export function getToken() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
export function setToken(value) { sessionStorage.setItem(TOKEN_KEY, value || ""); }

function headers(extra = {}) {
  const h = { "X-LocalKB-Request": "1", ...extra };
  const token = getToken();
  if (token) h["X-API-Key"] = token;
  return h;
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : { message: await response.text() };
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function getJSON(path) {
  return parse(await fetch(path, { headers: headers() }));
}

export async function sendJSON(path, body, method = "POST") {
  return parse(await fetch(path, {
    method, headers: headers({ "Content-Type": "application/json" }), body: body === undefined ? undefined : JSON.stringify(body),
  }));
}

/** Upload one file (multipart field "files"); onProgress(fraction). Resolves with the job. */
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/ingest/upload");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { body = { message: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body); else reject(new ApiError(xhr.status, body));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: "network error" }));
    const form = new FormData();
    form.append("files", file, file.name);
    xhr.send(form);
  });
}

/** POST /api/ask with NDJSON streaming; onToken(text) for each piece; resolves with the answer object. */
export async function askStream(body, onToken) {
  const response = await fetch("/api/ask", {
    method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ ...body, stream: "ndjson" }),
  });
  if (!response.ok) await parse(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let final = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffered += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      const event = JSON.parse(line);
      if (event.type === "token") onToken(event.text);
      else if (event.type === "answer") final = event;
      else if (event.type === "error") throw new ApiError(event.status || 500, event);
    }
    if (done) break;
  }
  if (!final) throw new ApiError(500, { message: "the answer stream ended early" });
  return final;
}
