// Saved designs: listed, renamed, deleted (created from the "New code" page).
import { useState } from "preact/hooks";
import { ApiError, call, list } from "../api";
import { ErrorMessage, Section, asApiError, formatDate, useLoad } from "../ui";

interface SavedDesign { design_id: string; name: string; design: Record<string, unknown>; created_at: string }

export function DesignsPage() {
  const designs = useLoad(() => list<SavedDesign>("/v1/designs?limit=100").then((r) => r.data), []);
  const [error, setError] = useState<ApiError | null>(null);
  const act = async (what: () => Promise<unknown>) => {
    setError(null);
    try { await what(); designs.reload(); } catch (err) { setError(asApiError(err)); }
  };
  return (
    <section aria-labelledby="designs-title">
      <h1 id="designs-title">Saved designs</h1>
      <p class="muted">Save a design from the <a href="#/codes/new">New code</a> page; codes keep the design they were drawn with.</p>
      <ErrorMessage error={error} />
      <Section loaded={designs} what="Saved designs">
        {(rows) => rows.length === 0 ? <p>No saved designs yet.</p> : (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Saved designs">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Colours</th><th scope="col">Frame</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                {rows.map((d) => (
                  <tr><td>{d.name}</td><td>{String(d.design.fg_color ?? "#000000")} on {String(d.design.bg_color ?? "#ffffff")}</td>
                    <td>{String((d.design.frame as { style?: string } | undefined)?.style ?? "none")}</td><td>{formatDate(d.created_at)}</td>
                    <td class="button-row">
                      <button type="button" onClick={() => { const name = prompt("New name", d.name); if (name) act(() => call("PATCH", `/v1/designs/${d.design_id}`, { name })); }}>Rename</button>
                      <button type="button" class="danger" onClick={() => { if (confirm(`Delete the design “${d.name}”?`)) act(() => call("DELETE", `/v1/designs/${d.design_id}`)); }}>Delete</button>
                    </td></tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </section>
  );
}
