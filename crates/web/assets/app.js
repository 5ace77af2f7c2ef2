// Bawaba dashboard: the live passage feed (server-sent events), the operator's desk that
// receives new referrals live, and the day picker.
// No framework, nothing loaded from elsewhere.
(function () {
  "use strict";
  var MAX_ROWS = 50;

  function cell(tr, text, attrs) {
    var td = document.createElement("td");
    td.textContent = text;
    if (attrs) { for (var k in attrs) { td.setAttribute(k, attrs[k]); } }
    tr.appendChild(td);
    return td;
  }

  // The words of the codes in the page's language (codes.rs), the code in a tooltip.
  var WORDS = null;
  function words() {
    if (WORDS === null) {
      var block = document.getElementById("words");
      try { WORDS = block ? JSON.parse(block.textContent) : {}; } catch (err) { WORDS = {}; }
    }
    return WORDS;
  }

  function code(kind, c, cls) {
    var span = document.createElement("span");
    span.className = cls || "code";
    span.title = c;
    span.textContent = (words()[kind] || {})[c] || c;
    return span;
  }

  function row(p) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-id", p.id);
    tr.className = "new";
    cell(tr, p.local_time);
    var where = cell(tr, "");
    var bdi = document.createElement("bdi");
    bdi.textContent = p.zone + "/" + p.gate + "/" + p.lane;
    where.appendChild(bdi);
    where.appendChild(document.createTextNode(" "));
    where.appendChild(code("direction", p.direction));
    cell(tr, p.plate || "–", { dir: "ltr" });
    var td = document.createElement("td");
    td.appendChild(code("verdict", p.verdict, "v-" + p.verdict));
    tr.appendChild(td);
    var why = cell(tr, "");
    var sep = document.documentElement.lang === "ar" ? "، " : ", ";
    (p.reasons || []).forEach(function (r, i) {
      if (i > 0) { why.appendChild(document.createTextNode(sep)); }
      why.appendChild(code("reason", r));
    });
    cell(tr, p.latency || "–");
    if (watched(p)) { tr.className = "new watch"; }
    return tr;
  }

  function watched(p) {
    return (p.reasons || []).indexOf("WATCHLIST") >= 0;
  }

  // A watched truck at a lane is raised above the feed until the next one.
  function raise(p) {
    var banner = document.getElementById("watch-alert");
    if (!banner) { return; }
    banner.textContent = "⚠ " + banner.getAttribute("data-label") + ": ";
    var plate = document.createElement("bdi");
    plate.setAttribute("dir", "ltr");
    plate.textContent = p.plate || p.epc || "–";
    banner.appendChild(plate);
    banner.appendChild(document.createTextNode(
      " — " + p.zone + "/" + p.gate + "/" + p.lane + " " + p.direction + " " + p.local_time));
    banner.hidden = false;
  }

  function startFeed() {
    var body = document.getElementById("feed");
    if (!body || !window.EventSource) { return; }
    var status = document.getElementById("feed-status");
    var since = body.getAttribute("data-since") || "";
    var url = body.getAttribute("data-src") + (since ? "?since=" + encodeURIComponent(since) : "");
    var source = new EventSource(url);
    function setStatus(on) {
      if (!status) { return; }
      status.className = "badge " + (on ? "on" : "off");
      status.textContent = status.getAttribute(on ? "data-live" : "data-off");
    }
    source.onopen = function () { setStatus(true); };
    source.onerror = function () { setStatus(false); };
    source.addEventListener("passage", function (e) {
      var p;
      try { p = JSON.parse(e.data); } catch (err) { return; }
      if (body.querySelector('tr[data-id="' + p.id + '"]')) { return; }
      body.insertBefore(row(p), body.firstChild);
      if (watched(p)) { raise(p); }
      var keep = parseInt(body.getAttribute("data-rows"), 10) || MAX_ROWS;
      while (body.rows.length > keep) { body.deleteRow(body.rows.length - 1); }
      body.setAttribute("data-since", e.lastEventId);
      var counter = document.getElementById(p.direction === "IN" ? "kpi-entries" : "kpi-exits");
      var kpis = document.getElementById("kpis");
      if (counter && p.verdict === "ALLOW" && kpis && kpis.getAttribute("data-today") === "true") {
        var n = parseInt(counter.textContent, 10);
        if (!isNaN(n)) { counter.textContent = String(n + 1); }
      }
    });
  }

  // A short tone for a new referral (browsers may keep it silent until the page was used).
  function beep() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return; }
    try {
      var ctx = new Ctx();
      var tone = ctx.createOscillator();
      tone.frequency.value = 880;
      tone.connect(ctx.destination);
      tone.start();
      tone.stop(ctx.currentTime + 0.25);
    } catch (err) { /* no sound: the banner still shows */ }
  }

  // The operator's desk: a referral at one of the caller's lanes is added without a reload
  // (the page as the server makes it, so cards are rendered in one place); cards already
  // shown, and what the operator typed into them, stay as they are.
  function addReferrals(p) {
    return fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var list = document.getElementById("referral-list");
        var added = 0;
        fresh.querySelectorAll("#referral-list article.referral").forEach(function (a) {
          if (!document.getElementById(a.id)) {
            list.appendChild(document.importNode(a, true));
            added += 1;
          }
        });
        var count = fresh.getElementById("open-count");
        if (count) { document.getElementById("open-count").textContent = count.textContent; }
        var none = document.getElementById("no-referrals");
        if (none && list.children.length > 0) { none.remove(); }
        if (added > 0) { alertReferral(p); }
      });
  }

  function alertReferral(p) {
    var banner = document.getElementById("referral-alert");
    if (!banner) { return; }
    banner.textContent = banner.getAttribute("data-label") + ": ";
    var plate = document.createElement("bdi");
    plate.setAttribute("dir", "ltr");
    plate.textContent = p.plate || p.epc || "–";
    banner.appendChild(plate);
    banner.appendChild(document.createTextNode(" — " + p.gate + "/" + p.lane + " " + p.local_time));
    banner.hidden = false;
    beep();
  }

  function startDesk() {
    var desk = document.getElementById("open-referrals");
    if (!desk || !window.EventSource || !window.fetch) { return; }
    var since = desk.getAttribute("data-since") || "";
    var source = new EventSource(desk.getAttribute("data-src") + "?since=" + encodeURIComponent(since));
    source.addEventListener("passage", function (e) {
      var p;
      try { p = JSON.parse(e.data); } catch (err) { return; }
      if (p.verdict === "REFER") { addReferrals(p).catch(function () { /* next one */ }); }
    });
  }

  function dayPicker() {
    var input = document.getElementById("day");
    if (input && input.form) {
      input.addEventListener("change", function () { input.form.submit(); });
    }
  }

  // ISO 6346: the check digit of a container number (4 letters, 6 digits).
  function checkDigit(s) {
    var sum = 0;
    for (var i = 0; i < 10; i++) {
      var c = s.charCodeAt(i), v;
      if (i < 4) {
        v = c - 55; // A = 10, skipping the multiples of 11
        v += Math.floor((v - 1) / 10);
      } else {
        v = c - 48;
      }
      sum += v * Math.pow(2, i);
    }
    return (sum % 11) % 10;
  }

  function badContainers(value) {
    return value.split(/[\s,;\u060C]+/).filter(function (c) { return c !== ""; }).filter(function (c) {
      var s = c.toUpperCase();
      return !/^[A-Z]{3}[UJZ][0-9]{7}$/.test(s) || checkDigit(s) !== +s[10];
    });
  }

  // Container numbers are checked as they are typed (the server checks them again).
  function containerFields() {
    var fields = document.querySelectorAll("input[data-containers]");
    Array.prototype.forEach.call(fields, function (input) {
      var note = document.getElementById("containers-error");
      input.addEventListener("input", function () {
        var bad = badContainers(input.value);
        var text = bad.length ? (note ? note.getAttribute("data-bad") : "") + " " + bad.join(", ") : "";
        input.setCustomValidity(text);
        if (note && input.id === "containers") { note.textContent = text; }
      });
    });
  }

  // The operator's desk from the keyboard: in a referral's fields Ctrl+Enter (or Cmd+Enter)
  // approves and Alt+Enter rejects — the reason is still required —, and a plain Enter
  // decides nothing; "/" puts the cursor in the first open referral's reason.
  function deskKeys() {
    var desk = document.getElementById("open-referrals");
    if (!desk) { return; }
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT");
      var form = typing && t.form && t.form.classList.contains("resolve") ? t.form : null;
      if (form && e.key === "Enter") {
        e.preventDefault();
        var which = (e.ctrlKey || e.metaKey) ? "approve" : (e.altKey ? "reject" : null);
        var button = which ? form.querySelector("button." + which) : null;
        if (button && form.requestSubmit) { form.requestSubmit(button); } else if (button) { button.click(); }
        return;
      }
      if (e.key === "/" && !typing) {
        var first = desk.querySelector("form.resolve input[name=reason]");
        if (first) { e.preventDefault(); first.focus(); }
      }
    });
  }

  function printButton() {
    var button = document.getElementById("print");
    if (button) { button.addEventListener("click", function () { window.print(); }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    startFeed();
    startDesk();
    dayPicker();
    containerFields();
    printButton();
    deskKeys();
  });
})();
