// Audit panel (overview tab): terms the embedding model confuses and near-duplicates from different
// sources, from GET /api/audit (`localkb audit`). Runs on demand: it embeds every near-miss term.
import { getJSON } from "./api.js";
import { $, el, showError } from "./ui.js";

function rank(r) { return r === null || r === undefined ? ">10" : String(r); }

function collisionRow(c) {
  const [a, b] = c.terms;
  const cell = (term, n) => el("td", {},
    el("div", {}, el("strong", {}, term), ` — hybrid rank ${rank(c.hybrid[term]?.own)}, other ${rank(c.hybrid[term]?.other)}`),
    el("div", { class: "muted small" }, `${c.chunks[n].source}: ${c.chunks[n].text.slice(0, 120)}`));
  return el("tr", { class: "collision", dataset: { terms: `${a}~${b}` } },
    el("td", {}, `${a} ~ ${b}`), el("td", {}, c.cosine.toFixed(3)), el("td", {}, c.signals.join(", ")),
    cell(a, 0), cell(b, 1));
}

async function runAudit(box, button) {
  button.disabled = true;
  box.replaceChildren(el("p", { class: "muted" }, "Auditing…"));
  try {
    const r = await getJSON("/api/audit");
    const parts = [el("p", {}, `${r.collisions.length} colliding term pairs among ${r.near_miss_pairs} near-miss pairs ` +
      `(${r.terms} terms, ${r.chunks} chunks; cut-off ${r.cutoff.toFixed(3)}, definitions bar ${r.definition_bar.toFixed(3)}).`)];
    if (r.collisions.length) {
      parts.push(el("table", { class: "audit" },
        el("thead", {}, el("tr", {}, ...["terms", "cosine", "signals", "first term", "second term"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...r.collisions.slice(0, 50).map(collisionRow))));
      parts.push(el("p", { class: "muted small" }, "To move them apart: localkb tune --kb KB --apply"));
    }
    if (r.duplicates) {
      parts.push(el("p", {}, `${r.duplicates.groups} groups of near-duplicate chunks from different sources (${r.duplicates.chunks} chunks).`));
    }
    r.notes.forEach((n) => parts.push(el("p", { class: "muted small" }, n)));
    if (r.clean) parts.push(el("p", { class: "ok" }, "Clean."));
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren();
    showError(err);
  } finally {
    button.disabled = false;
  }
}

export function initAudit() {
  const panel = $("#audit-panel");
  if (!panel) return;
  const box = el("div", { id: "audit-result" });
  const button = el("button", { type: "button", id: "audit-run" }, "Audit: what does the model confuse?");
  button.addEventListener("click", () => runAudit(box, button));
  panel.replaceChildren(el("h3", {}, "Audit"), button, box);
}
