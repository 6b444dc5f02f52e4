// Small pieces every page uses: loading data with its error, and the states around it.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, type Pagination } from "./api";

export interface Loaded<T> {
  value: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setLoading(true);
    load().then(
      (result) => { if (current) { setValue(result); setError(null); setLoading(false); } },
      (err: unknown) => { if (current) { setError(asApiError(err)); setLoading(false); } },
    );
    return () => { current = false; };
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { value, error, loading, reload };
}

export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, "NETWORK_ERROR", err instanceof Error ? err.message : String(err));
}

export function ErrorMessage({ error }: { error: ApiError | null }) {
  if (error === null) return null;
  return (
    <p class="error" role="alert">
      <strong>{error.code}</strong>: {error.message}
      {error.field ? <span> (field <code>{error.field}</code>)</span> : null}
    </p>
  );
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <p class="notice" role="status">
      {what} is not available on this server yet (its API routes answer 404). It appears here
      once the server is upgraded.
    </p>
  );
}

/** The standard frame of a data section: loading, not available, error, or the content. */
export function Section<T>({ loaded, what, children }: {
  loaded: Loaded<T>;
  what: string;
  children: (value: T) => ComponentChildren;
}) {
  if (loaded.error?.notAvailable) return <NotAvailable what={what} />;
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (loaded.value === null) return <p aria-busy="true">Loading…</p>;
  return <>{children(loaded.value)}</>;
}

// Previous/next over a paged list, shown only when there is more than one page.
export function Pager({ pagination, page, setPage }: {
  pagination: Pagination | null;
  page: number;
  setPage: (page: number) => void;
}) {
  if (!pagination || pagination.pages <= 1) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>Previous</button>
      <span>Page {pagination.page} of {pagination.pages}</span>
      <button type="button" disabled={page >= pagination.pages} onClick={() => setPage(page + 1)}>Next</button>
    </nav>
  );
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [JSON.stringify(value), delayMs]);
  return settled;
}

export function navigate(hash: string): void {
  location.hash = hash;
}
