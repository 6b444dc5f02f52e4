// Create a static or dynamic code. The preview is the API's own drawing, asked again 300 ms
// after the last change, with the fit warnings the API reports in X-QR-Warnings; nothing is
// stored for it. Without a logo it is GET /v1/qrcodes/generate (cacheable); an uploaded logo
// cannot ride in a URL, so with one the same options go to POST /v1/qrcodes/preview with the
// logo inline (design.logo_data).
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, image, list } from "../api";
import { ErrorMessage, asApiError, navigate, useDebounced, useLoad } from "../ui";
import { splitTags, type QrRecord } from "./codes";

export interface Design {
  fg_color: string;
  bg_color: string;
  dot_style: string;
  corner_style: string;
  eye_color: string;
  eye_inner_color: string;
  eye_inner_style: string;
  gradient: string;
  gradient_colors: string;
  gradient_angle: number;
  frame: string;
  frame_text: string;
  frame_color: string;
  frame_text_color: string;
  fit: string;
}

const DEFAULT_DESIGN: Design = {
  fg_color: "#000000", bg_color: "#ffffff", dot_style: "square", corner_style: "square",
  eye_color: "", eye_inner_color: "", eye_inner_style: "square", gradient: "", gradient_colors: "#1d4ed8,#9333ea",
  gradient_angle: 45, frame: "none", frame_text: "SCAN ME", frame_color: "#000000", frame_text_color: "#ffffff", fit: "auto",
};

const WARNING_TEXT: Record<string, string> = {
  LEVEL_RAISED: "Error correction was raised so the design scans.",
  LOGO_REDUCED: "The logo was shrunk so the code scans.",
  INVERTED_COLORS: "Light on dark: phone cameras read it, some older readers do not.",
  WIFI_PASSWORD_LENGTH: "The Wi-Fi password is outside 8–63 characters.",
};

/** The design as the JSON body's ``design`` object (API.md "Designs v1.1"). */
export function designBody(d: Design, logo: string | null): Record<string, unknown> {
  const body: Record<string, unknown> = {
    fg_color: d.fg_color, bg_color: d.bg_color, dot_style: d.dot_style, corner_style: d.corner_style,
    eye_inner_style: d.eye_inner_style, fit: d.fit,
  };
  if (d.eye_color) body.eye_color = d.eye_color;
  if (d.eye_inner_color) body.eye_inner_color = d.eye_inner_color;
  if (d.gradient) body.gradient = { type: d.gradient, colors: d.gradient_colors.split(",").map((c) => c.trim()), angle: d.gradient_angle };
  if (d.frame !== "none") body.frame = { style: d.frame, text: d.frame_text, color: d.frame_color, text_color: d.frame_text_color };
  if (logo) body.logo_data = logo;
  return body;
}

function previewQuery(type: string, content: string, d: Design, designId: string): string {
  const q = new URLSearchParams({ type, content: content || "https://example.com", format: "png", size: "320" });
  for (const name of ["fg_color", "bg_color", "dot_style", "corner_style", "eye_inner_style", "fit"] as const) q.set(name, d[name]);
  if (d.eye_color) q.set("eye_color", d.eye_color);
  if (d.eye_inner_color) q.set("eye_inner_color", d.eye_inner_color);
  if (d.gradient) {
    q.set("gradient", d.gradient);
    q.set("gradient_colors", d.gradient_colors);
    q.set("gradient_angle", String(d.gradient_angle));
  }
  if (d.frame !== "none") {
    q.set("frame", d.frame);
    q.set("frame_text", d.frame_text);
    q.set("frame_color", d.frame_color);
    q.set("frame_text_color", d.frame_text_color);
  }
  if (designId) q.set("design_id", designId);
  return q.toString();
}

/** The POST /v1/qrcodes/preview body of what the form shows, logo inline. */
function previewBody(type: string, content: string, d: Design, designId: string, logo: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type, content: parseContent(type, content || "https://example.com"), format: "png", size: 320, design: designBody(d, logo),
  };
  if (designId) body.design_id = designId;
  return body;
}

function readLogo(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

interface SavedDesign { design_id: string; name: string; design: Record<string, unknown> }

export function CreatePage() {
  const [kind, setKind] = useState<"static" | "dynamic">("dynamic");
  const [name, setName] = useState("");
  const [type, setType] = useState("url");
  const [content, setContent] = useState("https://example.com");
  const [tags, setTags] = useState("");
  const [design, setDesign] = useState<Design>(DEFAULT_DESIGN);
  const [designId, setDesignId] = useState("");
  const [logo, setLogo] = useState<string | null>(null);
  const [preview, setPreview] = useState<{ url: string; warnings: string[] } | null>(null);
  const [previewError, setPreviewError] = useState<ApiError | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [previews, setPreviews] = useState(0);
  const saved = useLoad(() => list<SavedDesign>("/v1/designs?limit=100").then((r) => r.data), []);
  const settled = useDebounced({ type: kind === "dynamic" ? "url" : type, content: content.trim(), design, designId }, 300);

  useEffect(() => {
    const abort = new AbortController();
    let url: string | null = null;
    const { type: t, content: c, design: d, designId: id } = settled;
    const drawn = logo === null
      ? image(`/v1/qrcodes/generate?${previewQuery(t, c, d, id)}`, abort.signal)
      : image("/v1/qrcodes/preview", abort.signal, previewBody(t, c, d, id, logo));
    drawn.then(
      (result) => { url = result.url; setPreview(result); setPreviewError(null); setPreviews((n) => n + 1); },
      (err) => { if (!abort.signal.aborted) setPreviewError(asApiError(err)); },
    );
    return () => { abort.abort(); if (url) URL.revokeObjectURL(url); };
  }, [settled, logo]);

  const set = (name: keyof Design) => (e: Event) => {
    const target = e.currentTarget as HTMLInputElement | HTMLSelectElement;
    setDesign({ ...design, [name]: name === "gradient_angle" ? Number(target.value) : target.value });
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const common: Record<string, unknown> = { name: name.trim() || undefined, design: designBody(design, logo) };
    if (designId) common.design_id = designId;
    const tagList = splitTags(tags);
    if (tagList.length) common.tags = tagList;
    try {
      const record = kind === "dynamic"
        ? await call<QrRecord>("POST", "/v1/qrcodes/dynamic", { ...common, destination_url: content.trim() })
        : await call<QrRecord>("POST", "/v1/qrcodes/generate", { ...common, type, content: parseContent(type, content) });
      navigate(`#/codes/${record.qr_id}`);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const saveDesign = async () => {
    const designName = prompt("Name of the saved design", name || "My design");
    if (!designName) return;
    try {
      await call("POST", "/v1/designs", { name: designName, design: designBody(design, logo) });
      saved.reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">New QR code</h1>
      <div class="two-columns">
        <form class="stack" onSubmit={submit} aria-describedby="create-error">
          <fieldset>
            <legend>Kind</legend>
            <label class="inline"><input type="radio" name="kind" value="dynamic" checked={kind === "dynamic"} onChange={() => setKind("dynamic")} /> Dynamic (short URL, editable, counted)</label>
            <label class="inline"><input type="radio" name="kind" value="static" checked={kind === "static"} onChange={() => setKind("static")} /> Static</label>
          </fieldset>
          <label>Name <input name="name" maxLength={200} required={kind === "dynamic"} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
          {kind === "static" ? (
            <label>Type
              <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                {["url", "text", "phone", "email", "sms", "whatsapp", "wifi", "vcard", "maps", "event", "payment"].map((t) => <option value={t}>{t}</option>)}
              </select>
            </label>
          ) : null}
          <label>{kind === "dynamic" ? "Destination URL" : type === "url" || type === "text" || type === "phone" ? "Content" : "Content (JSON object)"}
            <input name="content" required maxLength={4000} value={content} onInput={(e) => setContent(e.currentTarget.value)} />
          </label>
          <label>Tags (comma-separated) <input name="tags" maxLength={1100} value={tags} onInput={(e) => setTags(e.currentTarget.value)} /></label>
          {saved.value && saved.value.length > 0 ? (
            <label>Saved design
              <select value={designId} onChange={(e) => setDesignId(e.currentTarget.value)}>
                <option value="">none</option>
                {saved.value.map((d) => <option value={d.design_id}>{d.name}</option>)}
              </select>
            </label>
          ) : null}
          <fieldset>
            <legend>Colours and shapes</legend>
            <div class="grid">
              <label>Foreground <input type="color" value={design.fg_color} onInput={set("fg_color")} /></label>
              <label>Background <input type="color" value={design.bg_color} onInput={set("bg_color")} /></label>
              <label>Dots
                <select value={design.dot_style} onChange={set("dot_style")}>
                  {["square", "round", "dots", "classy", "classy-rounded"].map((s) => <option>{s}</option>)}
                </select>
              </label>
              <label>Corners
                <select value={design.corner_style} onChange={set("corner_style")}>
                  {["square", "round", "extra-rounded"].map((s) => <option>{s}</option>)}
                </select>
              </label>
              <label>Eye colour <input type="color" value={design.eye_color || design.fg_color} onInput={set("eye_color")} /></label>
              <label>Eye centre colour <input type="color" value={design.eye_inner_color || design.fg_color} onInput={set("eye_inner_color")} /></label>
              <label>Eye centre
                <select value={design.eye_inner_style} onChange={set("eye_inner_style")}>
                  <option>square</option><option>round</option>
                </select>
              </label>
              <label>Fit
                <select value={design.fit} onChange={set("fit")}>
                  <option value="auto">auto (adjust so it scans)</option><option value="strict">strict (refuse)</option>
                </select>
              </label>
            </div>
          </fieldset>
          <fieldset>
            <legend>Gradient</legend>
            <div class="grid">
              <label>Gradient type
                <select name="gradient" value={design.gradient} onChange={set("gradient")}>
                  <option value="">none</option><option value="linear">linear</option><option value="radial">radial</option>
                </select>
              </label>
              <label>Colours (2–3, comma-separated) <input value={design.gradient_colors} onChange={set("gradient_colors")} /></label>
              <label>Angle <input type="number" min={0} max={359} value={design.gradient_angle} onChange={set("gradient_angle")} /></label>
            </div>
          </fieldset>
          <fieldset>
            <legend>Frame</legend>
            <div class="grid">
              <label>Frame style
                <select name="frame" value={design.frame} onChange={set("frame")}>
                  {["none", "banner-bottom", "banner-top", "box"].map((s) => <option>{s}</option>)}
                </select>
              </label>
              <label>Frame text <input name="frame_text" maxLength={30} value={design.frame_text} onInput={set("frame_text")} /></label>
              <label>Frame colour <input type="color" value={design.frame_color} onInput={set("frame_color")} /></label>
              <label>Text colour <input type="color" value={design.frame_text_color} onInput={set("frame_text_color")} /></label>
            </div>
          </fieldset>
          <label>Logo (PNG, JPEG or SVG, ≤ 1 MiB)
            <input type="file" accept="image/png,image/jpeg,image/svg+xml" onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              setLogo(file ? await readLogo(file) : null);
            }} />
          </label>
          <div id="create-error"><ErrorMessage error={error} /></div>
          <div class="button-row">
            <button type="submit" class="primary" disabled={busy}>Create {kind} code</button>
            <button type="button" onClick={saveDesign}>Save design</button>
          </div>
        </form>
        <aside class="preview" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          {preview ? <img src={preview.url} alt="Preview of the QR code" data-testid="preview" data-generation={previews} /> : null}
          <ErrorMessage error={previewError} />
          <ul class="warnings" aria-live="polite" data-testid="warnings">
            {(preview?.warnings ?? []).map((w) => <li><strong>{w}</strong>: {WARNING_TEXT[w] ?? "see the API documentation"}</li>)}
          </ul>
        </aside>
      </div>
    </section>
  );
}

function parseContent(type: string, content: string): unknown {
  if (type === "url" || type === "text" || type === "phone") return content.trim();
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}
