// The console's shell: sign-in, navigation and hash routes (the key never goes in a URL; the
// hash holds only page names and ids).
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, onSignOut, signIn, signOut, signedIn } from "./api";
import { CodeDetailPage, CodesPage } from "./pages/codes";
import { CreatePage } from "./pages/create";
import { KeysPage, UsagePage } from "./pages/account";
import { DesignsPage } from "./pages/designs";
import { LivePage, StatsPage } from "./pages/stats";
import { TagsPage } from "./pages/tags";
import { WebhooksPage } from "./pages/webhooks";
import { ErrorMessage, asApiError } from "./ui";
import "./style.css";

const NAV: [string, string][] = [
  ["#/codes", "Codes"],
  ["#/codes/new", "New code"],
  ["#/live", "Live scans"],
  ["#/tags", "Tags"],
  ["#/designs", "Designs"],
  ["#/webhooks", "Webhooks"],
  ["#/keys", "API keys"],
  ["#/usage", "Usage"],
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || "#/codes");
  useEffect(() => {
    const update = () => setHash(location.hash || "#/codes");
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return hash;
}

function page(hash: string) {
  // A page may take parameters after "?" (#/codes?tag=spring): filters, never secrets.
  const [path, search = ""] = hash.split("?", 2);
  const parts = path.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "codes" && parts[1] === "new") return <CreatePage />;
  if (parts[0] === "codes" && parts[1] && parts[2] === "stats") return <StatsPage qrId={parts[1]} />;
  if (parts[0] === "codes" && parts[1]) return <CodeDetailPage qrId={parts[1]} />;
  if (parts[0] === "live") return <LivePage />;
  if (parts[0] === "tags") return <TagsPage />;
  if (parts[0] === "designs") return <DesignsPage />;
  if (parts[0] === "webhooks") return <WebhooksPage />;
  if (parts[0] === "keys") return <KeysPage />;
  if (parts[0] === "usage") return <UsagePage />;
  const tag = new URLSearchParams(search).get("tag") ?? "";
  // Keyed by the tag: following another tag's link starts that list afresh.
  return <CodesPage key={tag} initialTag={tag} />;
}

function SignIn({ onDone, reason }: { onDone: () => void; reason: ApiError | null }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<ApiError | null>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(key);
      setKey("");
      onDone();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>QRForge console</h1>
      <form class="stack" onSubmit={submit}>
        <label>API key
          <input type="password" name="api_key" autoComplete="off" spellcheck={false} required maxLength={200}
            value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <p class="muted">The key stays in this tab's memory only: reloading the page signs you out.</p>
        <ErrorMessage error={error} />
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}

function App() {
  const [authed, setAuthed] = useState(signedIn());
  const [reason, setReason] = useState<ApiError | null>(null);
  const hash = useHash();
  const mainRef = useRef<HTMLElement>(null);
  useEffect(() => onSignOut(() => {
    setReason(new ApiError(401, "INVALID_API_KEY", "The key was refused: sign in again."));
    setAuthed(false);
  }), []);
  // Keyboard and screen-reader users land on the new page's content, not the old scroll spot.
  useEffect(() => { mainRef.current?.focus(); }, [hash, authed]);
  if (!authed) return <SignIn reason={reason} onDone={() => { setReason(null); setAuthed(true); }} />;
  const active = NAV.filter(([href]) => hash === href || hash.startsWith(href + "/") || hash.startsWith(href + "?")).pop()?.[0];
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">QRForge</span>
        <nav aria-label="Console">
          <ul>
            {NAV.map(([href, label]) => (
              <li><a href={href} aria-current={href === active ? "page" : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <button type="button" onClick={() => { signOut(); setReason(null); }}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1} ref={mainRef}>{page(hash)}</main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
