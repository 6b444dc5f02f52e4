// Webhooks (API.md v1.1): endpoints, the secret shown once, the delivery log with retry.
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, list } from "../api";
import { ErrorMessage, Section, asApiError, formatDate, useLoad } from "../ui";
import { ShownOnce } from "./account";

interface Webhook { webhook_id: string; url: string; events: string[]; active: boolean; description?: string; created_at: string }
interface Delivery { delivery_id: string; event_type: string; status: string; attempts: number; last_status_code: number | null; last_error: string | null; next_attempt_at: string | null; created_at: string }

const EVENTS = ["scan.created", "code.created", "code.updated", "code.deleted"];
// How often an open delivery log asks again: new events and retry outcomes show up by themselves.
const LOG_REFRESH_MS = 2000;

function Deliveries({ webhookId }: { webhookId: string }) {
  const deliveries = useLoad(() => list<Delivery>(`/v1/webhooks/${webhookId}/deliveries`).then((r) => r.data), [webhookId]);
  const [error, setError] = useState<ApiError | null>(null);
  const [retried, setRetried] = useState("");
  useEffect(() => {
    const timer = setInterval(deliveries.reload, LOG_REFRESH_MS);
    return () => clearInterval(timer);
  }, [deliveries.reload]);
  // Any delivery can be sent again (API.md: the same event, same webhook-id): a failed one after
  // the endpoint is fixed, a pending one without waiting for its backoff, a delivered one that
  // the receiver lost.
  const retry = async (delivery: Delivery) => {
    setError(null);
    setRetried("");
    try {
      await call("POST", `/v1/webhooks/${webhookId}/deliveries/${delivery.delivery_id}/retry`);
      setRetried(`${delivery.event_type} queued to be sent again`);
      deliveries.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <>
      <ErrorMessage error={error} />
      {retried ? <p class="success" role="status">{retried}</p> : null}
      <Section loaded={deliveries} what="The delivery log">
        {(rows) => (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Deliveries">
            <table>
              <caption>Deliveries</caption>
              <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                {rows.length === 0 ? <tr><td colSpan={6}>No deliveries yet</td></tr> : rows.map((d) => (
                  <tr><td>{d.event_type}</td><td>{d.status}</td><td>{d.attempts}</td><td>{d.last_status_code ?? d.last_error ?? "—"}</td><td>{formatDate(d.created_at)}</td>
                    <td><button type="button" aria-label={`Retry ${d.event_type} of ${formatDate(d.created_at)}`} onClick={() => retry(d)}>Retry</button></td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}

export function WebhooksPage() {
  const hooks = useLoad(() => list<Webhook>("/v1/webhooks").then((r) => r.data), []);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>(["scan.created"]);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const act = async (what: () => Promise<unknown>) => {
    setError(null);
    try { await what(); hooks.reload(); } catch (err) { setError(asApiError(err)); }
  };
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <Section loaded={hooks} what="Webhooks">
        {(rows) => (
          <>
            <form class="stack" onSubmit={(e) => { e.preventDefault(); act(async () => {
              const created = await call<{ secret: string }>("POST", "/v1/webhooks", { url: url.trim(), events });
              setSecret(created.secret);
              setUrl("");
            }); }}>
              <label>Endpoint URL (https) <input type="url" required maxLength={2048} value={url} onInput={(e) => setUrl(e.currentTarget.value)} /></label>
              <fieldset><legend>Events</legend>
                {EVENTS.map((name) => (
                  <label class="inline"><input type="checkbox" checked={events.includes(name)} onChange={(e) => setEvents(e.currentTarget.checked ? [...events, name] : events.filter((x) => x !== name))} /> {name}</label>
                ))}
              </fieldset>
              <button type="submit" class="primary">Add webhook</button>
            </form>
            <ErrorMessage error={error} />
            {secret ? <ShownOnce label="The signing secret." secret={secret} /> : null}
            {rows.map((hook) => (
              <article class="card">
                <h2>{hook.url}</h2>
                <p>{hook.events.join(", ")} · {hook.active ? "active" : "disabled"} · since {formatDate(hook.created_at)}</p>
                <div class="button-row">
                  <button type="button" onClick={() => act(() => call("POST", `/v1/webhooks/${hook.webhook_id}/test`))}>Send test event</button>
                  <button type="button" aria-expanded={open === hook.webhook_id} onClick={() => setOpen(open === hook.webhook_id ? null : hook.webhook_id)}>Delivery log</button>
                  <button type="button" class="danger" onClick={() => { if (confirm(`Delete the webhook to ${hook.url}?`)) act(() => call("DELETE", `/v1/webhooks/${hook.webhook_id}`)); }}>Delete</button>
                </div>
                {open === hook.webhook_id ? <Deliveries webhookId={hook.webhook_id} /> : null}
              </article>
            ))}
          </>
        )}
      </Section>
    </section>
  );
}
