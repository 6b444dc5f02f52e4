// Codes: the list (search, filters, pagination) and one code's detail page.
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, download, image, list } from "../api";
import { RulesEditor } from "./rules";
import { ErrorMessage, Pager, Section, asApiError, formatDate, navigate, useDebounced, useLoad } from "../ui";

export interface QrRecord {
  qr_id: string;
  kind: "static" | "dynamic";
  type?: string;
  name?: string | null;
  content?: unknown;
  short_url?: string;
  destination_url?: string;
  total_scans?: number;
  format: string;
  size: number;
  image_url: string;
  download_url: string;
  created_at: string;
  updated_at?: string;
  active?: boolean;
  tags?: string[];
  warnings?: { code: string; message: string }[];
  protection?: { password_protected: boolean; expiry_date: string | null; max_scans: number };
  rules?: unknown[];
  variants?: unknown[];
}

interface Overview { total_codes: number; dynamic_codes: number; total_scans: number; unique_scans: number }

const PAGE_SIZE = 25;
const QR_TYPES = ["url", "text", "phone", "email", "sms", "whatsapp", "wifi", "vcard", "maps", "event", "payment"];

/** The list of codes; ``initialTag`` comes from the tags page (``#/codes?tag=…``). */
export function CodesPage({ initialTag = "" }: { initialTag?: string }) {
  const [page, setPage] = useState(1);
  const [kind, setKind] = useState("");
  const [type, setType] = useState("");
  const [tag, setTag] = useState(initialTag);
  const [search, setSearch] = useState("");
  const settledTag = useDebounced(tag, 300);
  // The API searches every code of the account by name (?q=), not just the page shown.
  const settledSearch = useDebounced(search.trim(), 300);
  const query = new URLSearchParams({ page: String(page), limit: String(PAGE_SIZE) });
  if (kind) query.set("kind", kind);
  if (type) query.set("type", type);
  if (settledTag) query.set("tag", settledTag);
  if (settledSearch) query.set("q", settledSearch);
  const codes = useLoad(() => list<QrRecord>(`/v1/qrcodes?${query}`), [query.toString()]);
  const overview = useLoad(() => call<Overview>("GET", `/v1/stats/overview${settledTag ? `?tag=${encodeURIComponent(settledTag)}` : ""}`), [settledTag]);
  const filter = (change: () => void) => { change(); setPage(1); };

  return (
    <section aria-labelledby="codes-title">
      <div class="heading-row">
        <h1 id="codes-title">QR codes</h1>
        <a class="button primary" href="#/codes/new">New code</a>
      </div>
      {overview.value ? (
        <dl class="counters">
          <div><dt>Codes</dt><dd>{overview.value.total_codes.toLocaleString()}</dd></div>
          <div><dt>Dynamic</dt><dd>{overview.value.dynamic_codes.toLocaleString()}</dd></div>
          <div><dt>Scans</dt><dd>{overview.value.total_scans.toLocaleString()}</dd></div>
          <div><dt>Unique scans</dt><dd>{overview.value.unique_scans.toLocaleString()}</dd></div>
        </dl>
      ) : null}
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Search by name
          <input type="search" value={search} onInput={(e) => filter(() => setSearch(e.currentTarget.value))} maxLength={200} />
        </label>
        <label>Kind
          <select value={kind} onChange={(e) => filter(() => setKind(e.currentTarget.value))}>
            <option value="">any</option><option value="static">static</option><option value="dynamic">dynamic</option>
          </select>
        </label>
        <label>Type
          <select value={type} onChange={(e) => filter(() => setType(e.currentTarget.value))}>
            <option value="">any</option>
            {QR_TYPES.map((t) => <option value={t}>{t}</option>)}
          </select>
        </label>
        <label>Tag
          <input value={tag} onInput={(e) => filter(() => setTag(e.currentTarget.value))} maxLength={50} />
        </label>
      </form>
      <Section loaded={codes} what="The code list">
        {({ data: shown, pagination }) => {
          return (
            <>
              <p class="muted" aria-live="polite" data-testid="codes-total">
                {pagination ? `${pagination.total} ${pagination.total === 1 ? "code" : "codes"}` : ""}
                {settledSearch ? ` named like “${settledSearch}”` : ""}
                {settledTag ? ` tagged “${settledTag}”` : ""}
              </p>
              <div class="table-wrap" tabIndex={0} role="region" aria-label="QR codes">
                <table>
                  <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Type</th><th scope="col">Target</th><th scope="col">Scans</th><th scope="col">Created</th></tr></thead>
                  <tbody>
                    {shown.map((code) => (
                      <tr key={code.qr_id}>
                        <td><a href={`#/codes/${code.qr_id}`}>{code.name || code.qr_id}</a></td>
                        <td>{code.kind}</td>
                        <td>{code.type ?? "url"}</td>
                        <td class="truncate">{code.destination_url ?? (typeof code.content === "string" ? code.content : "")}</td>
                        <td>{code.total_scans ?? "—"}</td>
                        <td>{formatDate(code.created_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {shown.length === 0 ? <p>No codes match.</p> : null}
              <Pager pagination={pagination} page={page} setPage={setPage} />
            </>
          );
        }}
      </Section>
    </section>
  );
}

const DOWNLOAD_FORMATS = ["png", "svg", "pdf", "jpeg", "webp", "eps"];

export function CodeDetailPage({ qrId }: { qrId: string }) {
  const code = useLoad(() => call<QrRecord>("GET", `/v1/qrcodes/${encodeURIComponent(qrId)}`), [qrId]);
  return (
    <section aria-labelledby="detail-title">
      <Section loaded={code} what="This code">
        {(record) => <CodeDetail record={record} reload={code.reload} />}
      </Section>
    </section>
  );
}

function CodeDetail({ record, reload }: { record: QrRecord; reload: () => void }) {
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [destination, setDestination] = useState(record.destination_url ?? "");
  const [saved, setSaved] = useState("");
  const [tags, setTags] = useState((record.tags ?? []).join(", "));

  useEffect(() => {
    let url: string | null = null;
    image(`/v1/qrcodes/${record.qr_id}/download?format=png&size=320`)
      .then((result) => { url = result.url; setPreview(result.url); }, (err) => setError(asApiError(err)));
    return () => { if (url) URL.revokeObjectURL(url); };
  }, [record.qr_id, record.updated_at]);

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(null);
    setSaved("");
    try {
      await what();
      setSaved(done);
      reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const remove = async () => {
    if (!confirm(`Delete ${record.name || record.qr_id}? Its short URL stops working.`)) return;
    try {
      await call("DELETE", `/v1/qrcodes/${record.qr_id}`);
      navigate("#/codes");
    } catch (err) {
      setError(asApiError(err));
    }
  };

  return (
    <>
      <div class="heading-row">
        <h1 id="detail-title">{record.name || record.qr_id}</h1>
        <a class="button" href={`#/codes/${record.qr_id}/stats`}>Statistics</a>
      </div>
      <ErrorMessage error={error} />
      {saved ? <p class="success" role="status">{saved}</p> : null}
      <div class="two-columns">
        <div>
          {preview ? <img class="qr-image" src={preview} alt={`QR code ${record.name ?? record.qr_id}`} data-testid="code-image" />
            : error ? null : <p aria-busy="true">Drawing…</p>}
          <h2>Download</h2>
          <div class="button-row">
            {DOWNLOAD_FORMATS.map((fmt) => (
              <button type="button" onClick={() => act(() => download(`/v1/qrcodes/${record.qr_id}/download?format=${fmt}`, `${record.qr_id}.${fmt}`), `Downloaded ${fmt.toUpperCase()}`)}>
                {fmt.toUpperCase()}
              </button>
            ))}
          </div>
        </div>
        <div>
          <dl class="facts">
            <dt>Id</dt><dd><code>{record.qr_id}</code></dd>
            <dt>Kind</dt><dd>{record.kind}{record.type ? ` · ${record.type}` : ""}</dd>
            {record.short_url ? <><dt>Short URL</dt><dd><a href={record.short_url} data-testid="short-url">{record.short_url}</a></dd></> : null}
            {record.kind === "dynamic" ? <><dt>Scans</dt><dd data-testid="total-scans">{record.total_scans ?? 0}</dd></> : null}
            {record.protection ? <><dt>Protection</dt><dd>{record.protection.password_protected ? "password · " : ""}{record.protection.expiry_date ? `expires ${formatDate(record.protection.expiry_date)} · ` : ""}{record.protection.max_scans ? `max ${record.protection.max_scans} scans` : "no scan limit"}</dd></> : null}
            <dt>Created</dt><dd>{formatDate(record.created_at)}</dd>
            {record.warnings && record.warnings.length > 0 ? <><dt>Warnings</dt><dd>{record.warnings.map((w) => w.message).join("; ")}</dd></> : null}
          </dl>
          {record.kind === "dynamic" ? (
            <form class="stack" onSubmit={(e) => { e.preventDefault(); act(() => call("PUT", `/v1/qrcodes/${record.qr_id}/destination`, { destination_url: destination.trim() }), "Destination changed"); }}>
              <label>Destination URL
                <input type="url" required maxLength={2048} value={destination} onInput={(e) => setDestination(e.currentTarget.value)} name="destination_url" />
              </label>
              <button type="submit" class="primary">Change destination</button>
            </form>
          ) : null}
          {record.tags !== undefined ? (
            <form class="stack" onSubmit={(e) => { e.preventDefault(); act(() => call("PATCH", `/v1/qrcodes/${record.qr_id}`, { tags: splitTags(tags) }), "Tags saved"); }}>
              <label>Tags (comma-separated)
                <input value={tags} maxLength={1100} onInput={(e) => setTags(e.currentTarget.value)} />
              </label>
              <button type="submit">Save tags</button>
            </form>
          ) : null}
          <button type="button" class="danger" onClick={remove}>Delete code</button>
        </div>
      </div>
      {record.kind === "dynamic" ? <ProtectionForm record={record} onSaved={reload} /> : null}
      {record.kind === "dynamic" ? <RulesEditor record={record} onSaved={reload} /> : null}
    </>
  );
}

/** Password, expiry, scan limit and the active switch of a dynamic code: one PATCH. */
function ProtectionForm({ record, onSaved }: { record: QrRecord; onSaved: () => void }) {
  const protection = record.protection ?? { password_protected: false, expiry_date: null, max_scans: 0 };
  const [password, setPassword] = useState("");
  const [removePassword, setRemovePassword] = useState(false);
  const [expiry, setExpiry] = useState((protection.expiry_date ?? "").slice(0, 10));
  const [maxScans, setMaxScans] = useState(String(protection.max_scans ?? 0));
  const [active, setActive] = useState(record.active ?? true);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  const fieldError = (field: string) => (error?.field === field ? <span class="field-error" role="alert">{error.message}</span> : null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    const changes: Record<string, unknown> = { expiry_date: expiry || null, max_scans: Number(maxScans) || 0 };
    if (removePassword) changes.password = null;
    else if (password) changes.password = password;
    try {
      await call("PATCH", `/v1/qrcodes/${record.qr_id}`, { protection: changes, active });
      setPassword("");
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <section aria-labelledby="protection-title">
      <h2 id="protection-title">Protection</h2>
      <form class="filters" onSubmit={save}>
        <label>{protection.password_protected ? "New password" : "Password"}
          <input type="password" autoComplete="new-password" maxLength={128} value={password} disabled={removePassword} onInput={(e) => setPassword(e.currentTarget.value)} />
          {fieldError("protection.password")}
        </label>
        {protection.password_protected ? (
          <label class="inline"><input type="checkbox" checked={removePassword} onChange={(e) => setRemovePassword(e.currentTarget.checked)} /> remove the password</label>
        ) : null}
        <label>Expires after
          <input type="date" value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)} />
          {fieldError("protection.expiry_date")}
        </label>
        <label>Scan limit (0 = none)
          <input type="number" min={0} value={maxScans} onInput={(e) => setMaxScans(e.currentTarget.value)} />
          {fieldError("protection.max_scans")}
        </label>
        <label class="inline"><input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} /> active</label>
        <button type="submit">Save protection</button>
      </form>
      {error && !error.field?.startsWith("protection.") ? <ErrorMessage error={error} /> : null}
      {saved ? <p class="success" role="status">Protection saved</p> : null}
    </section>
  );
}

export function splitTags(text: string): string[] {
  return text.split(",").map((t) => t.trim()).filter(Boolean).slice(0, 20);
}
