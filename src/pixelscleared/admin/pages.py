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
