// Tags: every tag of the account with how many codes carry it (GET /v1/tags); a tag opens the
// code list filtered by it.
import { useState } from "preact/hooks";
import { list } from "../api";
import { Pager, Section, useLoad } from "../ui";

interface TagCount { tag: string; qr_codes: number; barcodes: number }

const PAGE_SIZE = 100;

export function TagsPage() {
  const [page, setPage] = useState(1);
  const tags = useLoad(() => list<TagCount>(`/v1/tags?page=${page}&limit=${PAGE_SIZE}`), [page]);
  return (
    <section aria-labelledby="tags-title">
      <h1 id="tags-title">Tags</h1>
      <Section loaded={tags} what="The tag list">
        {({ data, pagination }) => (
          <>
            <p class="muted">{pagination ? `${pagination.total} ${pagination.total === 1 ? "tag" : "tags"}` : ""}</p>
            {data.length === 0 ? <p>No code carries a tag yet: add tags on a code's page or when creating it.</p> : (
              <div class="table-wrap" tabIndex={0} role="region" aria-label="Tags">
                <table>
                  <thead><tr><th scope="col">Tag</th><th scope="col">QR codes</th><th scope="col">Barcodes</th></tr></thead>
                  <tbody>
                    {data.map((t) => (
                      <tr key={t.tag}>
                        <td><a href={`#/codes?tag=${encodeURIComponent(t.tag)}`}>{t.tag}</a></td>
                        <td>{t.qr_codes.toLocaleString()}</td>
                        <td>{t.barcodes.toLocaleString()}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            <Pager pagination={pagination} page={page} setPage={setPage} />
          </>
        )}
      </Section>
    </section>
  );
}
