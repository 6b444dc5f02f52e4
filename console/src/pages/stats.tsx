// A code's statistics (series chart, breakdowns) and the live scans arriving on the SSE stream.
import { useEffect, useState } from "preact/hooks";
import { ApiError, call, stream } from "../api";
import { LineChart } from "../chart";
import { ErrorMessage, NotAvailable, Section, asApiError, formatDate, useLoad } from "../ui";

interface Share { scans: number; unique_scans: number; share: number; [name: string]: unknown }
interface Daily { granularity: string; tz: string; series: { period: string; scans: number; unique_scans: number }[] }
interface Summary { total_scans: number; unique_scans: number; bot_scans: number; last_scan_at: string | null; top_country: string | null; top_city: string | null }
export interface ScanEvent { qr_id: string; scanned_at: string; country: string | null; city: string | null; device: string | null; os: string | null; browser: string | null; referrer_host: string | null; rule: number | null; variant: number | null }

/** "2026-11-02T00:00:00+01:00" as "11-02" (or "11-02 14:00" per hour): the API's own bucket. */
function periodLabel(period: string, granularity: string): string {
  const day = period.slice(5, 10);
  return granularity === "hour" ? `${day} ${period.slice(11, 16)}` : day;
}

function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function zones(): string[] {
  const supported = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  const all = supported ? supported("timeZone") : [];
  return ["UTC", ...all.filter((z) => z !== "UTC")];
}

/** Follows the live stream while mounted; ``available`` is false when the route is not there. */
export function useScanStream(qrId: string | null, onScan: (scan: ScanEvent) => void): { available: boolean | null; error: ApiError | null } {
  const [available, setAvailable] = useState<boolean | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | null = null;
    const connect = () => {
      setAvailable(true);
      stream(`/v1/stream/scans${qrId ? `?qr_id=${encodeURIComponent(qrId)}` : ""}`, (event) => {
        if (event.event !== "scan") return;
        try { onScan(JSON.parse(event.data) as ScanEvent); } catch { /* not an event of ours */ }
      }, abort.signal).then(
        () => { if (!abort.signal.aborted) retry = setTimeout(connect, 2000); },
        (err) => {
          if (abort.signal.aborted) return;
          const apiError = asApiError(err);
          if (apiError.notAvailable) { setAvailable(false); return; }
          setError(apiError);
          if (apiError.status !== 401 && apiError.status !== 403) retry = setTimeout(connect, 3000);
        },
      );
    };
    connect();
    return () => { abort.abort(); if (retry) clearTimeout(retry); };
  }, [qrId]);
  return { available, error };
}

function ShareTable({ title, rows, name, column }: { title: string; rows: Share[]; name: string; column: string }) {
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={title}>
      <table>
        <caption>{title}</caption>
        <thead><tr><th scope="col">{column}</th><th scope="col">Scans</th><th scope="col">Unique</th><th scope="col">Share</th></tr></thead>
        <tbody>
          {rows.length === 0 ? <tr><td colSpan={4}>No scans yet</td></tr> : rows.map((row) => (
            <tr><td>{String(row[name] ?? row.destination_url ?? (row.index ?? "default"))}</td><td>{row.scans}</td><td>{row.unique_scans}</td><td>{Math.round(row.share * 10) / 10}%</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function optional<T>(promise: Promise<T>): Promise<T | null> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof ApiError && err.notAvailable) return null;
    throw err;
  }
}

export function StatsPage({ qrId }: { qrId: string }) {
  const today = new Date();
  const [from, setFrom] = useState(isoDay(new Date(today.getTime() - 29 * 86400_000)));
  const [to, setTo] = useState(isoDay(today));
  const [tz, setTz] = useState(browserZone());
  const [granularity, setGranularity] = useState("day");
  const [live, setLive] = useState(0);
  const params = new URLSearchParams({ from, to, tz }).toString();
  const base = `/v1/qrcodes/${encodeURIComponent(qrId)}/stats`;
  const loaded = useLoad(async () => {
    const [summary, daily, countries, cities, devices, referrers, variants, rules] = await Promise.all([
      call<Summary>("GET", `${base}?${params}`),
      call<Daily>("GET", `${base}/daily?${params}&granularity=${granularity}`),
      call<Share[]>("GET", `${base}/countries?${params}`),
      call<Share[]>("GET", `${base}/cities?${params}`),
      call<{ devices: Share[]; os: Share[]; browsers: Share[] }>("GET", `${base}/devices?${params}`),
      call<Share[]>("GET", `${base}/referrers?${params}`),
      optional(call<Share[]>("GET", `${base}/variants?${params}`)),
      optional(call<Share[]>("GET", `${base}/rules?${params}`)),
    ]);
    setLive(0);
    return { summary, daily, countries, cities, devices, referrers, variants, rules };
  }, [qrId, params, granularity]);
  // A scan arriving live counts at once and lands in the last bucket (today, this hour).
  const streamState = useScanStream(qrId, () => setLive((n) => n + 1));

  return (
    <section aria-labelledby="stats-title">
      <div class="heading-row">
        <h1 id="stats-title">Statistics</h1>
        <a class="button" href={`#/codes/${qrId}`}>Back to the code</a>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>From <input type="date" value={from} max={to} onChange={(e) => setFrom(e.currentTarget.value)} /></label>
        <label>To <input type="date" value={to} min={from} onChange={(e) => setTo(e.currentTarget.value)} /></label>
        <label>Timezone
          <select value={tz} onChange={(e) => setTz(e.currentTarget.value)}>
            {zones().map((z) => <option value={z}>{z}</option>)}
            {zones().includes(tz) ? null : <option value={tz}>{tz}</option>}
          </select>
        </label>
        <label>Per
          <select value={granularity} onChange={(e) => setGranularity(e.currentTarget.value)}>
            <option value="hour">hour</option><option value="day">day</option><option value="week">week</option><option value="month">month</option>
          </select>
        </label>
      </form>
      <p class="muted" role="status">
        {streamState.available === false ? "Live updates are not available on this server." : streamState.available ? "Live: new scans appear without reloading." : ""}
      </p>
      <Section loaded={loaded} what="Statistics">
        {(s) => {
          const series = s.daily.series;
          const scans = series.map((p) => p.scans);
          if (live > 0 && scans.length > 0) scans[scans.length - 1] += live;
          return (
            <>
              <dl class="counters">
                <div><dt>Scans</dt><dd data-testid="stats-total">{s.summary.total_scans + live}</dd></div>
                <div><dt>Unique</dt><dd>{s.summary.unique_scans}</dd></div>
                <div><dt>Bots (excluded)</dt><dd>{s.summary.bot_scans}</dd></div>
                <div><dt>Last scan</dt><dd>{formatDate(s.summary.last_scan_at)}</dd></div>
              </dl>
              <LineChart title={`Scans per ${s.daily.granularity} (${s.daily.tz})`} labels={series.map((p) => periodLabel(p.period, s.daily.granularity))}
                series={[{ label: "scans", values: scans, stroke: "#1d4ed8" }, { label: "unique", values: series.map((p) => p.unique_scans), stroke: "#b45309" }]} />
              <div class="tables">
                <ShareTable title="Countries" column="Country" rows={s.countries} name="country" />
                <ShareTable title="Cities" column="City" rows={s.cities} name="city" />
                <ShareTable title="Devices" column="Device" rows={s.devices.devices} name="device" />
                <ShareTable title="Operating systems" column="OS" rows={s.devices.os} name="os" />
                <ShareTable title="Browsers" column="Browser" rows={s.devices.browsers} name="browser" />
                <ShareTable title="Referrers" column="Referrer" rows={s.referrers} name="referrer" />
                {s.variants ? <ShareTable title="Variants" column="Variant" rows={s.variants} name="index" /> : null}
                {s.rules ? <ShareTable title="Rules" column="Rule" rows={s.rules} name="index" /> : null}
              </div>
            </>
          );
        }}
      </Section>
    </section>
  );
}

const LIVE_MINUTES = 30;

export function LivePage() {
  const [scans, setScans] = useState<ScanEvent[]>([]);
  const [count, setCount] = useState(0);
  const [perMinute, setPerMinute] = useState<Map<number, number>>(new Map());
  const state = useScanStream(null, (scan) => {
    setCount((n) => n + 1);
    setScans((list) => [scan, ...list].slice(0, 50));
    const minute = Math.floor(Date.now() / 60000);
    setPerMinute((map) => new Map(map).set(minute, (map.get(minute) ?? 0) + 1));
  });
  const now = Math.floor(Date.now() / 60000);
  const minutes = Array.from({ length: LIVE_MINUTES }, (_, i) => now - LIVE_MINUTES + 1 + i);
  return (
    <section aria-labelledby="live-title">
      <h1 id="live-title">Live scans</h1>
      {state.available === false ? <NotAvailable what="The live scan stream" /> : (
        <>
          <ErrorMessage error={state.error} />
          <p class="big-counter" aria-live="polite">
            <span data-testid="live-count">{count}</span> scans since this page opened
          </p>
          <LineChart title="Scans per minute (last 30 minutes)" labels={minutes.map((m) => new Date(m * 60000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }))}
            series={[{ label: "scans", values: minutes.map((m) => perMinute.get(m) ?? 0), stroke: "#1d4ed8" }]} height={200} />
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Latest scans">
            <table>
              <caption>Latest scans</caption>
              <thead><tr><th scope="col">When</th><th scope="col">Code</th><th scope="col">Country</th><th scope="col">Device</th><th scope="col">OS</th><th scope="col">Browser</th></tr></thead>
              <tbody>
                {scans.map((s) => (
                  <tr><td>{formatDate(s.scanned_at)}</td><td><a href={`#/codes/${s.qr_id}/stats`}>{s.qr_id}</a></td><td>{s.country ?? "—"}</td><td>{s.device ?? "—"}</td><td>{s.os ?? "—"}</td><td>{s.browser ?? "—"}</td></tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
