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
col.id,col.removed{width:10%}col.tiktok{width:17%}col.payload{width:30%}
.delivered{color:#176f2c}.dead,.dropped{color:#a31919}.retrying,.queued{color:#8a5a00}
details summary{cursor:pointer}</style></head><body>
<h1>PixelsCleared — events log</h1>
<p>Each row is one event for one pixel: consent verdict and the signals that decided it, what the
scrubber removed (paths and kinds, never values), the exact payload sent, and TikTok's answer.
JSON: <a href="events">events</a> (filters: <code>?event_id=</code>, <code>?status=</code>,
<code>?pixel_id=</code>) · <a href="metrics">metrics</a>. Refreshes every 2 s.</p>
<div class="rows"><table><colgroup><col span="3"><col class="id"><col><col><col class="removed"><col class="tiktok">
<col class="payload"></colgroup><thead><tr><th>time</th><th>status</th><th>event</th><th>event_id</th><th>pixel</th>
<th>consent</th><th>removed</th><th>TikTok</th><th>payload</th></tr></thead><tbody id="rows"></tbody></table></div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
// TikTok's answer as a tester reads it: HTTP status, code and message, then the request id
const answer = a => {
  if (!a) return "";
  const {http_status, code, message, request_id, ...rest} = a;
  return `HTTP ${esc(http_status ?? "—")}${code !== undefined ? " · code " + esc(code) : ""}`
    + (message ? ` <code>${esc(message)}</code>` : "")
    + (request_id ? `<br><small>request_id <code>${esc(request_id)}</code></small>` : "")
    + (Object.keys(rest).length ? `<br><code>${esc(JSON.stringify(rest))}</code>` : "") + "<br>";
};
let last = "";
async function load() {
  const r = await fetch("events" + location.search); const text = await r.text();
  if (text === last) return;  // unchanged: keep the reader's selection and scroll
  last = text; const doc = JSON.parse(text);
  const rows = document.getElementById("rows");
  // a payload the reader opened stays open when new rows arrive
  const open = new Set([...rows.querySelectorAll("details[open]")].map(d => d.dataset.id));
  rows.innerHTML = doc.events.map(e => `<tr>
    <td class="nowrap">${esc(new Date(e.updated_at*1000).toLocaleTimeString())}</td>
    <td class="${esc(e.status)}">${esc(e.status)}${e.reason ? "<br><small>"+esc(e.reason)+"</small>" : ""}</td>
    <td>${esc(e.event_name)}</td><td><code>${esc(e.event_id)}</code></td>
    <td class="nowrap"><code>${esc(e.pixel_id)}</code></td>
    <td>${esc(e.verdict)}<br><small>${esc(e.consent_sources.join(", "))}</small></td>
    <td>${e.removed.map(x => `<code>${esc(x.path)}</code> ${esc(x.kind)}`).join("<br>")}</td>
    <td class="answer">${answer(e.response)}<small>attempts ${e.attempts}</small></td>
    <td>${e.payload ? `<details data-id="${esc(e.id)}"${open.has(String(e.id)) ? " open" : ""}><summary>show</summary>
      <pre>${esc(JSON.stringify(e.payload, null, 2))}</pre></details>` : ""}</td>
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
