"""The operator pages, served as they are (no template engine: nothing from traffic is
interpolated server-side; the page fetches `events` as JSON and escapes every value)."""

EVENTS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>PixelsCleared — events</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
.rows{overflow-x:auto}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}.nowrap{white-space:nowrap}
/* fits a 1280 px window: ids and JSON wrap anywhere, the wide columns get a share; narrower windows
   scroll inside .rows, never the page */
code,pre{font:12px ui-monospace,monospace;overflow-wrap:anywhere}pre{white-space:pre-wrap;margin:0}
col.id,col.removed{width:10%}col.tiktok{width:14%}col.payload{width:22%}
.delivered{color:#176f2c}.dead,.dropped{color:#a31919}.retrying,.queued{color:#8a5a00}
details summary{cursor:pointer}form.filters{display:flex;gap:.5rem;flex-wrap:wrap;margin:0 0 .8rem}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
ol.trail{margin:.3rem 0;padding-left:1.2rem}ol.trail li{margin:.15rem 0}</style></head><body>
<h1>PixelsCleared — events log</h1>
<p>Each row is one event for one pixel: where it was captured, consent verdict and the signals that
decided it, what the scrubber removed (paths and kinds, never values), the identity actually sent,
the exact payload and TikTok's answer. Times are UTC. JSON: <a href="events">events</a> (filters:
<code>?event_id=</code>, <code>?status=</code>, <code>?pixel_id=</code>, <code>?event=</code>,
<code>?source=</code>) · <a href="destinations.html">destinations</a> · <a href="metrics">metrics</a>.
Refreshes every 2 s.</p>
<form class="filters" id="filters">
<label>status<select name="status"><option value="">any</option><option>queued</option><option>retrying</option>
<option>delivered</option><option>dead</option><option>dropped</option><option>dry_run</option></select></label>
<label>event<input name="event" size="14"></label><label>pixel<input name="pixel_id" size="22"></label>
<label>source<input name="source" size="10"></label><label>host<input name="host" size="16"></label>
<label>event_id<input name="event_id" size="20"></label></form>
<div class="rows"><table><colgroup><col span="3"><col class="id"><col><col><col><col class="removed"><col>
<col class="tiktok"><col class="payload"></colgroup><thead><tr><th>time (UTC)</th><th>status</th><th>event</th>
<th>event_id</th><th>pixel</th><th>source</th><th>consent</th><th>removed</th>
<th title="ip: hashed, plain or no; UA: user agent; ext_id: external id; LDU: limited_data_use">identity</th><th>TikTok</th>
<th>follow the event</th></tr></thead><tbody id="rows"></tbody></table></div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const utc = t => new Date(t * 1000).toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "Z");
// TikTok's answer as a tester reads it: HTTP status, code and message, then the request id
const answer = a => {
  if (!a) return "";
  const {http_status, code, message, request_id, ...rest} = a;
  return `HTTP ${esc(http_status ?? "—")}${code !== undefined ? " · code " + esc(code) : ""}`
    + (message ? ` <code>${esc(message)}</code>` : "")
    + (request_id ? `<br><small>request_id <code>${esc(request_id)}</code></small>` : "")
    + (Object.keys(rest).length ? `<br><code>${esc(JSON.stringify(rest))}</code>` : "") + "<br>";
};
// what identity went to TikTok, read from the payload itself
const identity = p => {
  if (!p) return "—";
  const u = p.user || {};
  const ip = !u.ip ? "no" : /^[0-9a-f]{64}$/.test(u.ip) ? "hashed" : "plain";
  const parts = [`ip ${ip}`, `UA ${u.user_agent ? "yes" : "no"}`, `ext_id ${u.external_id ? "yes" : "no"}`,
                 `LDU ${p.limited_data_use ? "true" : "false"}`];
  if (u.ttclid) parts.push("ttclid yes");
  if (u.ttp) parts.push("ttp yes");
  return parts.map(esc).join("<br>");
};
const host = p => { try { return new URL(p.page.url).host; } catch (e) { return ""; } };
const trail = e => `<ol class="trail">
  <li>captured by <b>${esc(e.source)}</b> at ${esc(utc(e.created_at))}${e.repeats ? ` (and ${Number(e.repeats)} repeat(s) of its event_id, not sent again)` : ""}</li>
  <li>removed: ${e.removed.length ? e.removed.map(x => `<code>${esc(x.path)}</code> ${esc(x.kind)}`).join(", ") : "nothing"}</li>
  <li>consent: <b>${esc(e.verdict)}</b>${e.consent_sources.length ? " from " + e.consent_sources.map(esc).join(", ") : ""}</li>
  <li>${e.payload ? `sent: <pre>${esc(JSON.stringify(e.payload, null, 2))}</pre>` : "not sent" + (e.reason ? ": " + esc(e.reason) : "")}</li>
  <li>TikTok: ${e.response ? answer(e.response) : "no answer yet"} ${esc(e.status)} after ${e.attempts} attempt(s)</li></ol>`;
const form = document.getElementById("filters");
for (const [k, v] of new URLSearchParams(location.search)) if (form.elements[k]) form.elements[k].value = v;
form.addEventListener("input", () => {
  const q = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
  history.replaceState(null, "", q.toString() ? "?" + q : location.pathname); last = ""; load();
});
let last = "", latest = 0;
async function load() {
  const q = new URLSearchParams(location.search); const wantHost = q.get("host") || ""; q.delete("host");
  const seq = ++latest;
  const r = await fetch("events?" + q); const text = await r.text();
  if (seq !== latest) return;  // a newer load (the filters changed) answers instead
  const key = wantHost + " " + text;  // the host filter (no spaces in a host) is applied here, not by the server
  if (key === last) return;  // unchanged: keep the reader's selection and scroll
  last = key; const doc = JSON.parse(text);
  const rows = document.getElementById("rows");
  // a detail view the reader opened stays open when new rows arrive
  const open = new Set([...rows.querySelectorAll("details[open]")].map(d => d.dataset.id));
  rows.innerHTML = (doc.events || []).filter(e => !wantHost || (e.payload && host(e.payload).includes(wantHost)))
    .map(e => `<tr>
    <td class="nowrap">${esc(utc(e.updated_at).slice(0, 10))}<br>${esc(utc(e.updated_at).slice(11))}</td>
    <td class="${esc(e.status)}">${esc(e.status)}${e.reason ? "<br><small>"+esc(e.reason)+"</small>" : ""}${
      e.repeats ? "<br><small>captured again " + Number(e.repeats) + "×, not sent again</small>" : ""}</td>
    <td>${esc(e.event_name)}</td><td><code>${esc(e.event_id)}</code></td>
    <td class="nowrap"><code>${esc(e.pixel_id)}</code></td><td>${esc(e.source)}</td>
    <td>${esc(e.verdict)}<br><small>${esc(e.consent_sources.join(", "))}</small></td>
    <td>${e.removed.map(x => `<code>${esc(x.path)}</code> ${esc(x.kind)}`).join("<br>")}</td>
    <td class="identity"><small>${identity(e.payload)}</small></td>
    <td class="answer">${answer(e.response)}<small>attempts ${e.attempts}</small></td>
    <td><details data-id="${esc(e.id)}"${open.has(String(e.id)) ? " open" : ""}><summary>show</summary>
      ${trail(e)}</details></td>
  </tr>`).join("");
}
load(); setInterval(load, 2000);
</script></body></html>
"""

DESTINATIONS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>PixelsCleared — destinations</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
.pixel{border:1px solid #ddd;border-radius:6px;padding:.8rem 1rem;margin:0 0 1rem;max-width:60rem}
.pixel h2{font-size:1.05rem;margin:0 0 .5rem}dl{display:grid;grid-template-columns:12rem 1fr;gap:.2rem .8rem;margin:0}
dt{color:#555}dd{margin:0}code{font:12px ui-monospace,monospace}
.ok{color:#176f2c}.bad{color:#a31919}.result{margin-top:.6rem;padding:.5rem .7rem;border-radius:4px}
.result.ok{background:#eaf6ec}.result.bad{background:#fbeaea}button{font:inherit;padding:.3rem .8rem}</style>
</head><body>
<h1>PixelsCleared — destinations</h1>
<p>Each TikTok pixel this sidecar sends to. Configuration stays in the YAML file given to
<code>pixelscleared run -c</code>: edit the key shown on each card and restart. <b>Test connection</b>
runs the same check as <code>pixelscleared validate</code>: one request to TikTok with the pixel's
token (with its <code>test_event_code</code> it lands in Test Events). Also:
<a href="events.html">events log</a> · <a href="destinations">JSON</a> · <a href="metrics">metrics</a>.</p>
<div id="pixels">loading…</div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
const counts = c => Object.entries(c || {}).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(" · ") || "none yet";
const last = a => a ? `${esc(a.result)}${a.code !== null && a.code !== undefined ? " · code " + esc(a.code) : ""}`
  + `${a.message ? " · " + esc(a.message) : ""} · ${esc(new Date(a.at * 1000).toISOString())}` : "no request yet";
function card(p) {
  return `<div class="pixel" data-pixel="${esc(p.pixel_id)}"><h2><code>${esc(p.pixel_id)}</code></h2><dl>
  <dt>config key</dt><dd><code>${esc(p.config_key)}</code></dd>
  <dt>access token</dt><dd><code>${esc(p.access_token)}</code></dd>
  <dt>events it takes</dt><dd>${p.events.map(esc).join(", ") || "all"}</dd>
  <dt>hosts</dt><dd>${p.hosts.map(esc).join(", ")}</dd>
  <dt>test event code</dt><dd>${esc(p.test_event_code) || "none (live)"}${p.test_event_code_hosts.length
      ? " on " + p.test_event_code_hosts.map(esc).join(", ") : ""}</dd>
  <dt>events</dt><dd>${counts(p.counts)}</dd>
  <dt>TikTok's last answer</dt><dd>${last(p.last_answer)}</dd></dl>
  <p><button type="button">Test connection</button></p><div class="result" hidden></div></div>`;
}
async function test(box) {
  const out = box.querySelector(".result"), button = box.querySelector("button");
  button.disabled = true; out.hidden = false; out.className = "result"; out.textContent = "asking TikTok…";
  try {
    const r = await fetch("destinations/test?pixel=" + encodeURIComponent(box.dataset.pixel),
                          {method: "POST", headers: {"X-PixelsCleared-Action": "test"}});
    const doc = await r.json();
    if (!r.ok) throw new Error(doc.error || ("HTTP " + r.status));
    const c = doc.checks[0];
    out.className = "result " + (c.ok ? "ok" : "bad");
    out.innerHTML = c.ok
      ? `✔ TikTok accepted the token${c.test_event_code ? " (test event code " + esc(c.test_event_code) + ")" : ""}`
      : `✘ ${c.code !== null ? "code " + esc(c.code) + ": " : ""}${esc(c.message)}<br>→ ${esc(c.advice)}`;
  } catch (e) {
    out.className = "result bad"; out.textContent = "✘ " + e.message;
  } finally { button.disabled = false; }
}
async function load() {
  const r = await fetch("destinations");
  const doc = await r.json();
  const el = document.getElementById("pixels");
  el.innerHTML = doc.pixels.length ? doc.pixels.map(card).join("") : "<p>No pixels: add them under <code>destinations.tiktok</code>.</p>";
  el.querySelectorAll(".pixel button").forEach(b => b.addEventListener("click", () => test(b.closest(".pixel"))));
}
load();
</script></body></html>
"""
