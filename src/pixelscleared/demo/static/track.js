/* The site's own first-party tracking: events go to its own origin, where the sidecar
   answers /_pc/collect. No third-party script ever runs in the visitor's browser. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("pc-config").textContent);

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);  // available outside secure contexts too
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function send(name, properties) {
    var body = JSON.stringify({
      event: name, event_id: uuid4(), properties: properties || {},
      url: location.href, referrer: document.referrer
    });
    try {  // keepalive: the call survives the navigation a form submit starts
      fetch(cfg.collect, {method: "POST", keepalive: true, credentials: "same-origin",
                          headers: {"Content-Type": "application/json"}, body: body})
        .catch(function () {});
    } catch (e) {
      if (navigator.sendBeacon) navigator.sendBeacon(cfg.collect, new Blob([body], {type: "application/json"}));
    }
  }

  cfg.events.forEach(function (e) { send(e.event, e.properties); });

  // Forms marked data-pc-event send their event on submit, then submit as usual.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-pc-event]"), function (form) {
    form.addEventListener("submit", function () {
      var props = JSON.parse(form.getAttribute("data-pc-props") || "{}");
      (form.getAttribute("data-pc-fields") || "").split(" ").forEach(function (f) {
        if (f && form.elements[f]) props[f] = form.elements[f].value;
      });
      var qty = form.elements.quantity ? parseInt(form.elements.quantity.value, 10) : NaN;
      if (qty > 0 && props.contents && props.contents.length === 1) {
        props.contents[0].quantity = qty;
        props.value = Math.round(props.contents[0].price * qty * 100) / 100;
      }
      send(form.getAttribute("data-pc-event"), props);
    });
  });
})();
