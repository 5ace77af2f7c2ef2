// Layout checks of one page, run in the browser by the dashboard test: returns what is
// wrong, as sentences (empty: nothing). arguments[0]: whether the page is the Arabic one.
const arabic = arguments[0];
const problems = [];
const name = (e) =>
  e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
  (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
const root = document.documentElement;
if (root.scrollWidth > root.clientWidth + 1) {
  problems.push("the page scrolls sideways: " + root.scrollWidth + " px in " + root.clientWidth);
}
// No box wider than its container; a box that scrolls sideways holds what is wider (a
// table scrolls inside its own box by design).
const scrolls = (e) => {
  for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    const o = getComputedStyle(a).overflowX;
    if (o === "auto" || o === "scroll") return true;
  }
  return false;
};
for (const e of document.querySelectorAll("main *, header *")) {
  if (e.closest("svg, script, style") || scrolls(e)) continue;
  const cs = getComputedStyle(e);
  if (cs.display === "none" || cs.visibility === "hidden" || cs.position === "absolute" || cs.position === "fixed") continue;
  if (cs.display.startsWith("inline") && cs.display !== "inline-block") continue;
  const r = e.getBoundingClientRect();
  const p = e.parentElement.getBoundingClientRect();
  if (r.width > 0 && (r.right > p.right + 1 || r.left < p.left - 1)) {
    problems.push(name(e) + " (" + Math.round(r.left) + "–" + Math.round(r.right) + ") spills out of " +
      name(e.parentElement) + " (" + Math.round(p.left) + "–" + Math.round(p.right) + ")");
  }
}
// Each label of a referral's evidence on the same row as its value.
for (const dt of document.querySelectorAll("dl.evidence dt")) {
  const dd = dt.nextElementSibling;
  if (!dd) continue;
  const a = dt.getBoundingClientRect(), b = dd.getBoundingClientRect();
  if (Math.abs(a.top - b.top) > 6) {
    problems.push("label " + JSON.stringify(dt.textContent) + " is not on its value's row (" +
      Math.round(a.top) + " vs " + Math.round(b.top) + ")");
  }
}
// No code among the visible words of an Arabic page (plates, ids and tags are isolated in
// <bdi>/dir=ltr and left out; a code's words are shown, the code kept in a tooltip).
if (arabic) {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("bdi, [dir=ltr], script, style, input, select, option, textarea, [hidden]")
    .forEach((e) => e.remove());
  const words = copy.textContent.match(/\b([A-Z]+_[A-Z_]+|ALLOW|DENY|REFER|BOOKED|ENTERED|EXITED|CANCELLED|NO_SHOW|OPEN|APPROVED|REJECTED)\b/g) || [];
  for (const w of new Set(words)) problems.push("a raw code on the Arabic page: " + w);
}
return { width: window.innerWidth, problems };
