// The API client: every call same-origin with the key in the Authorization header. The key lives
// only in this module's memory (never a URL, a log, localStorage or sessionStorage): a reload
// signs the user out, which is the price of nothing persistent to steal.

export interface Pagination {
  total: number;
  page: number;
  limit: number;
  pages: number;
  next_cursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
  }

  /** The route does not exist on this server (a feature of a later API version). */
  get notAvailable(): boolean {
    return this.status === 404 && (this.code === "NOT_FOUND" || this.code === "METHOD_NOT_ALLOWED");
  }
}

let apiKey: string | null = null;
const signOutListeners = new Set<() => void>();

export function signedIn(): boolean {
  return apiKey !== null;
}

export function signOut(): void {
  apiKey = null;
  signOutListeners.forEach((listener) => listener());
}

export function onSignOut(listener: () => void): () => void {
  signOutListeners.add(listener);
  return () => signOutListeners.delete(listener);
}

function authHeaders(key: string | null = apiKey): Record<string, string> {
  if (key === null) throw new ApiError(401, "INVALID_API_KEY", "Not signed in");
  return { Authorization: `Bearer ${key}` };
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = await response.json();
    const error = body?.error ?? {};
    const field = typeof error.details?.field === "string" ? error.details.field : null;
    return new ApiError(response.status, String(error.code ?? "HTTP_" + response.status),
      String(error.message ?? response.statusText), field);
  } catch {
    return new ApiError(response.status, "HTTP_" + response.status, response.statusText || "Request failed");
  }
}

async function send(method: string, path: string, body?: unknown, key?: string | null): Promise<Response> {
  const headers: Record<string, string> = authHeaders(key === undefined ? apiKey : key);
  const init: RequestInit = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    const error = await errorOf(response);
    // A key revoked while in use: back to the sign-in page, with the API's message.
    if (error.status === 401 && key === undefined) signOut();
    throw error;
  }
  return response;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await send(method, path, body);
  return (await response.json()).data as T;
}

export async function list<T>(path: string): Promise<{ data: T[]; pagination: Pagination | null }> {
  const response = await send("GET", path);
  const body = await response.json();
  return { data: body.data as T[], pagination: (body.pagination as Pagination) ?? null };
}

/** Checks ``key`` against the API before keeping it: the API's own error if it is refused. */
export async function signIn(key: string): Promise<void> {
  await send("GET", "/v1/account/usage", undefined, key.trim());
  apiKey = key.trim();
}

export interface ImageResult {
  url: string;
  warnings: string[];
}

/**
 * An image route's bytes as an object URL (``<img>`` cannot send the Authorization header);
 * with ``body``, POSTed as JSON (a preview whose logo no URL could carry).
 */
export async function image(path: string, signal?: AbortSignal, body?: unknown): Promise<ImageResult> {
  const headers = authHeaders();
  const init: RequestInit = { headers, signal, credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.method = "POST";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  const warnings = (response.headers.get("X-QR-Warnings") ?? "").split(",").map((w) => w.trim()).filter(Boolean);
  return { url: URL.createObjectURL(await response.blob()), warnings };
}

export async function download(path: string, filename: string): Promise<void> {
  const response = await send("GET", path);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface StreamEvent {
  event: string;
  id: string | null;
  data: string;
}

/**
 * Server-Sent Events over fetch(): EventSource cannot send an Authorization header, and the key
 * must not go in the URL. Parses the text/event-stream framing (WHATWG HTML §9.2.6) itself.
 * Resolves when the stream ends; rejects with ApiError when the route answers an error.
 */
export async function stream(path: string, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<void> {
  const response = await fetch(path, {
    headers: { ...authHeaders(), Accept: "text/event-stream" },
    signal,
    credentials: "omit",
    cache: "no-store",
  });
  if (!response.ok) throw await errorOf(response);
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "message";
  let data: string[] = [];
  let id: string | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) onEvent({ event, id, data: data.join("\n") });
        event = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // keep-alive comment
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let fieldValue = colon < 0 ? "" : line.slice(colon + 1);
      if (fieldValue.startsWith(" ")) fieldValue = fieldValue.slice(1);
      if (name === "event") event = fieldValue;
      else if (name === "data") data.push(fieldValue);
      else if (name === "id") id = fieldValue;
    }
  }
}
