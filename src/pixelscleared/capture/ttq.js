/* PixelsCleared ttq.js — TikTok's browser API, first-party. Calls go to the sidecar's collect
   endpoint (same origin); the sidecar reads consent, removes personal data and sends the events
   to TikTok server-side. No third-party request, no cookie set here. */
(function (w, d) {
  "use strict";
  var COLLECT = "__COLLECT__";
  var old = w.ttq;
  if (old && old._pixelscleared) return;  // loaded twice: the first copy serves
  var ttq = old && typeof old === "object" ? old : [];

  function post(doc) {
    var body = JSON.stringify(doc);
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(COLLECT, new Blob([body], {type: "text/plain"}))) return;
    } catch (e) { /* fall through to fetch */ }
    try {
      fetch(COLLECT, {method: "POST", body: body, keepalive: true, credentials: "same-origin",
                      headers: {"Content-Type": "text/plain"}});
    } catch (e) { /* nothing else to try: tracking never breaks the page */ }
  }

  function send(name, params, options) {
    if (typeof name !== "string" || !name) return;
    var doc = {event: name, url: location.href, referrer: d.referrer || ""};
    if (params && typeof params === "object" && !Array.isArray(params)) doc.properties = params;
    var id = options && typeof options === "object" ? options.event_id : undefined;
    if ((typeof id === "string" && id) || typeof id === "number") doc.event_id = String(id);
    try { post(doc); } catch (e) { /* a property that cannot be serialised: the event is skipped */ }
  }

  var noop = function () { return ttq; };
  var api = {
    page: function () { send("Pageview"); },
    track: function (name, params, options) { send(name, params, options); },
    identify: noop,  // personal data: never read, never sent
    load: noop, instance: function () { return ttq; }, instances: function () { return [ttq]; },
    debug: noop, on: noop, off: noop, once: noop, alias: noop, group: noop, enableCookie: noop,
    disableCookie: noop, holdConsent: noop, revokeConsent: noop, grantConsent: noop,
    setAndDefer: noop,
    ready: function (fn) { if (typeof fn === "function") try { fn(); } catch (e) { /* the site's own */ } return ttq; }
  };

  function dispatch(call) {
    if (!call || typeof call.length !== "number") return;
    var method = api[call[0]];
    if (typeof method === "function") method.apply(ttq, Array.prototype.slice.call(call, 1));
  }

  // Calls made before this script loaded: TikTok's stub queued them as [method, ...args] on
  // `ttq` itself and on each pixel's `ttq._i[id]`.
  var queued = Array.prototype.slice.call(ttq.length ? ttq : []);
  var instances = ttq._i && typeof ttq._i === "object" ? ttq._i : {};
  for (var pixel in instances) {
    if (Object.prototype.hasOwnProperty.call(instances, pixel) && instances[pixel] && instances[pixel].length) {
      queued = queued.concat(Array.prototype.slice.call(instances[pixel]));
      instances[pixel].length = 0;
    }
  }
  if (Array.isArray(ttq)) ttq.length = 0;
  for (var name in api) if (Object.prototype.hasOwnProperty.call(api, name)) ttq[name] = api[name];
  ttq.push = function () { for (var i = 0; i < arguments.length; i++) dispatch(arguments[i]); return 0; };
  ttq._pixelscleared = true;
  w.ttq = ttq;
  for (var i = 0; i < queued.length; i++) dispatch(queued[i]);
})(window, document);
