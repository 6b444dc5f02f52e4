// Rules and variants of a dynamic code (API.md v1.1 "Dynamic codes"): edited as rows, saved with
// one PATCH; the API's validation error is shown beside the field it names.
import { useId, useRef, useState } from "preact/hooks";
import { ApiError, call } from "../api";
import { ErrorMessage, NotAvailable, asApiError } from "../ui";
import type { QrRecord } from "./codes";

interface Rule {
  if: { device?: string[]; os?: string[]; country?: string[]; language?: string[] };
  destination_url: string;
}
interface Variant {
  destination_url: string;
  weight: number;
}

const DEVICES = ["mobile", "tablet", "desktop"];
const SYSTEMS = ["ios", "android", "windows", "macos", "linux"];

function csv(values: string[] | undefined): string {
  return (values ?? []).join(", ");
}

function fromCsv(text: string, upper: boolean): string[] | undefined {
  const values = text.split(",").map((v) => v.trim()).filter(Boolean).map((v) => (upper ? v.toUpperCase() : v.toLowerCase()));
  return values.length ? values : undefined;
}

/** Whether the API's ``field`` is ``path`` itself or inside it (``rules[0].if.country[1]``). */
function within(field: string | null | undefined, path: string): boolean {
  return !!field && (field === path || field.startsWith(path + "[") || field.startsWith(path + "."));
}

/**
 * A comma-separated list typed as text: the text is the input's own state, so a trailing comma
 * being typed is not eaten by re-joining the parsed list, and every keystroke reaches the rule
 * (a change only committed on blur could miss the save that the blur came from).
 */
function ListInput({ label, values, upper, onValues, error }: {
  label: string;
  values: string[] | undefined;
  upper: boolean;
  onValues: (values: string[] | undefined) => void;
  error: ApiError | null;
}) {
  const [text, setText] = useState(csv(values));
  const id = useId();
  return (
    <>
      <label>{label}
        <input value={text} maxLength={400} aria-invalid={error ? true : undefined} aria-describedby={error ? id : undefined}
          onInput={(e) => { setText(e.currentTarget.value); onValues(fromCsv(e.currentTarget.value, upper)); }} />
      </label>
      {error ? <span class="field-error" role="alert" id={id}>{error.message}</span> : null}
    </>
  );
}

export function RulesEditor({ record, onSaved }: { record: QrRecord; onSaved: () => void }) {
  const [rules, setRules] = useState<Rule[]>((record.rules as Rule[] | undefined) ?? []);
  const [variants, setVariants] = useState<Variant[]>((record.variants as Variant[] | undefined) ?? []);
  // Stable keys for the rows: a removed rule takes its inputs' typed text with it.
  const [ruleKeys, setRuleKeys] = useState<number[]>(() => rules.map((_, i) => i));
  const nextKey = useRef(rules.length);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState(false);
  if (record.rules === undefined && record.variants === undefined) {
    return <section aria-labelledby="rules-title"><h2 id="rules-title">Rules and variants</h2><NotAvailable what="Routing by rules and A/B variants" /></section>;
  }
  // The API names the offending field (``rules[0].if.country[1]``): its message is shown under
  // the input that holds it, the nearest one for fields the editor has no input of its own for.
  const errorAt = (path: string) => (within(error?.field, path) ? error : null);
  const fieldError = (path: string, exact = false) =>
    (exact ? error?.field === path : within(error?.field, path))
      ? <span class="field-error" role="alert">{error!.message}</span> : null;
  const setRule = (index: number, change: (rule: Rule) => Partial<Rule>) =>
    setRules((current) => current.map((rule, i) => (i === index ? { ...rule, ...change(rule) } : rule)));
  const setCondition = (index: number, name: keyof Rule["if"], value: string[] | undefined) =>
    setRule(index, (rule) => ({ if: { ...rule.if, [name]: value } }));
  const removeRule = (index: number) => {
    setRules(rules.filter((_, j) => j !== index));
    setRuleKeys(ruleKeys.filter((_, j) => j !== index));
  };
  const addRule = () => {
    setRules([...rules, { if: {}, destination_url: "" }]);
    setRuleKeys([...ruleKeys, nextKey.current++]);
  };
  const toggle = (list: string[] | undefined, value: string, on: boolean) => {
    const next = (list ?? []).filter((v) => v !== value).concat(on ? [value] : []);
    return next.length ? next : undefined;
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await call("PATCH", `/v1/qrcodes/${record.qr_id}`, { rules, variants });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <section aria-labelledby="rules-title">
      <h2 id="rules-title">Rules and variants</h2>
      <form class="stack" onSubmit={save}>
        <h3>Rules (first match wins)</h3>
        {rules.map((rule, i) => (
          <fieldset class="rule" key={ruleKeys[i]}>
            <legend>Rule {i + 1}</legend>
            <div class="checks" role="group" aria-label={`Rule ${i + 1} devices`}>
              {DEVICES.map((d) => (
                <label class="inline"><input type="checkbox" checked={rule.if.device?.includes(d) ?? false} onChange={(e) => setCondition(i, "device", toggle(rule.if.device, d, e.currentTarget.checked))} /> {d}</label>
              ))}
            </div>
            <div class="checks" role="group" aria-label={`Rule ${i + 1} operating systems`}>
              {SYSTEMS.map((o) => (
                <label class="inline"><input type="checkbox" checked={rule.if.os?.includes(o) ?? false} onChange={(e) => setCondition(i, "os", toggle(rule.if.os, o, e.currentTarget.checked))} /> {o}</label>
              ))}
            </div>
            {fieldError(`rules[${i}].if.device`)}
            {fieldError(`rules[${i}].if.os`)}
            <ListInput label="Countries (ISO codes, comma-separated)" values={rule.if.country} upper
              onValues={(v) => setCondition(i, "country", v)} error={errorAt(`rules[${i}].if.country`)} />
            <ListInput label="Languages" values={rule.if.language} upper={false}
              onValues={(v) => setCondition(i, "language", v)} error={errorAt(`rules[${i}].if.language`)} />
            {fieldError(`rules[${i}].if`, true)}
            <label>Destination URL
              <input type="url" required value={rule.destination_url} onInput={(e) => { const url = e.currentTarget.value; setRule(i, () => ({ destination_url: url })); }} />
            </label>
            {fieldError(`rules[${i}].destination_url`)}
            <button type="button" onClick={() => removeRule(i)}>Remove rule {i + 1}</button>
          </fieldset>
        ))}
        <button type="button" disabled={rules.length >= 20} onClick={addRule}>Add rule</button>
        <h3>Variants (weighted A/B split)</h3>
        {variants.map((variant, i) => (
          <fieldset class="rule">
            <legend>Variant {i + 1}</legend>
            <label>Destination URL
              <input type="url" required value={variant.destination_url} onInput={(e) => setVariants(variants.map((v, j) => (j === i ? { ...v, destination_url: e.currentTarget.value } : v)))} />
            </label>
            {fieldError(`variants[${i}].destination_url`)}
            <label>Weight (1–1000)
              <input type="number" min={1} max={1000} required value={variant.weight} onInput={(e) => setVariants(variants.map((v, j) => (j === i ? { ...v, weight: Number(e.currentTarget.value) } : v)))} />
            </label>
            {fieldError(`variants[${i}].weight`)}
            <button type="button" onClick={() => setVariants(variants.filter((_, j) => j !== i))}>Remove variant {i + 1}</button>
          </fieldset>
        ))}
        <button type="button" disabled={variants.length >= 10} onClick={() => setVariants([...variants, { destination_url: "", weight: 1 }])}>Add variant</button>
        {error && !error.field?.match(/^(rules|variants)\[/) ? <ErrorMessage error={error} /> : null}
        {saved ? <p class="success" role="status">Rules and variants saved</p> : null}
        <button type="submit" class="primary">Save rules and variants</button>
      </form>
    </section>
  );
}
