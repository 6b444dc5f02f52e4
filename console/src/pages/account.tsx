// API keys (the new secret shown once, copy, revoke) and usage against the plan's limits.
import { useState } from "preact/hooks";
import { ApiError, call, list } from "../api";
import { ErrorMessage, Section, asApiError, formatDate, useLoad } from "../ui";

interface ApiKey { key_id: string; name: string; permissions: string[]; prefix: string; created_at: string; last_used_at: string | null; expires_at: string | null }
interface Usage { plan: string; rate_limit: { limit: number; remaining: number; reset: number }; qr_codes: { used: number; limit: number | null }; barcodes: { used: number }; scans_this_month: number }

export function ShownOnce({ label, secret }: { label: string; secret: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="shown-once" role="status">
      <p><strong>{label}</strong> It is shown only this once: copy it now.</p>
      <div class="button-row">
        <input readOnly value={secret} aria-label={label} data-testid="new-secret" onFocus={(e) => e.currentTarget.select()} />
        <button type="button" onClick={async () => { await navigator.clipboard.writeText(secret); setCopied(true); }}>{copied ? "Copied" : "Copy"}</button>
      </div>
    </div>
  );
}

export function KeysPage() {
  const keys = useLoad(() => list<ApiKey>("/v1/api-keys").then((r) => r.data), []);
  const [name, setName] = useState("");
  const [write, setWrite] = useState(true);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const key = await call<{ api_key: string }>("POST", "/v1/api-keys", { name: name.trim(), permissions: write ? ["read", "write"] : ["read"] });
      setCreated(key.api_key);
      setName("");
      keys.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const revoke = async (key: ApiKey) => {
    if (!confirm(`Revoke the key “${key.name}”? Programs using it stop working at once.`)) return;
    try {
      await call("DELETE", `/v1/api-keys/${key.key_id}`);
      keys.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <form class="filters" onSubmit={create}>
        <label>Name <input name="key_name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label class="inline"><input type="checkbox" checked={write} onChange={(e) => setWrite(e.currentTarget.checked)} /> write permission</label>
        <button type="submit" class="primary">Create key</button>
      </form>
      <ErrorMessage error={error} />
      {created ? <ShownOnce label="The new API key." secret={created} /> : null}
      <Section loaded={keys} what="API keys">
        {(rows) => (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="API keys">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Prefix</th><th scope="col">Permissions</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                {rows.map((key) => (
                  <tr><td>{key.name}</td><td><code>{key.prefix}</code></td><td>{key.permissions.join(", ")}</td><td>{formatDate(key.created_at)}</td><td>{formatDate(key.last_used_at)}</td>
                    <td><button type="button" class="danger" aria-label={`Revoke ${key.name}`} onClick={() => revoke(key)}>Revoke</button></td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </section>
  );
}

function Meter({ label, used, limit }: { label: string; used: number; limit: number | null }) {
  return (
    <div class="meter">
      <span>{label}: {used.toLocaleString()}{limit ? ` of ${limit.toLocaleString()}` : " (no limit)"}</span>
      {limit ? <meter min={0} max={limit} value={used} high={limit * 0.9} aria-label={label} /> : null}
    </div>
  );
}

export function UsagePage() {
  const usage = useLoad(() => call<Usage>("GET", "/v1/account/usage"), []);
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">Usage</h1>
      <Section loaded={usage} what="Usage">
        {(u) => (
          <div class="stack">
            <p>Plan: <strong data-testid="plan">{u.plan}</strong></p>
            <Meter label="Stored QR codes" used={u.qr_codes.used} limit={u.qr_codes.limit || null} />
            <Meter label="Requests this minute" used={u.rate_limit.limit - u.rate_limit.remaining} limit={u.rate_limit.limit} />
            <p>Barcodes stored: {u.barcodes.used.toLocaleString()}</p>
            <p>Scans this month: {u.scans_this_month.toLocaleString()}</p>
          </div>
        )}
      </Section>
    </section>
  );
}
