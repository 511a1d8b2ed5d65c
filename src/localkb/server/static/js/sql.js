// SQL tab: a plain-language question → generated SQL, the guard's verdict, the rows; or check SQL alone.
import { getJSON, sendJSON } from "./api.js";
import { t } from "./i18n.js";
import { $, el, fill, showError } from "./ui.js";

export async function loadDatabases() {
  const select = $("#sql-db");
  let dbs = [];
  try { dbs = (await getJSON("/api/sql/databases")).databases; } catch (err) { return showError(err); }
  select.replaceChildren(...dbs.map((d) => el("option", { value: d.name, title: d.url }, d.name)));
  const none = !dbs.length;
  document.querySelectorAll("#sql-form input, #sql-form button, #sql-check-form input, #sql-check-form button")
    .forEach((node) => { node.disabled = none; });
  if (none) $("#sql-output").replaceChildren(el("p", { class: "muted" }, t("sql.nodb")));
}

function rowsTable(columns, rows) {
  return el("table", { class: "rows" },
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, c)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((v) => el("td", {}, v === null ? "NULL" : String(v)))))));
}

function verdict(allowed, violations = []) {
  return el("div", {},
    el("span", { class: `verdict ${allowed ? "allowed" : "rejected"}` }, allowed ? `✓ ${t("sql.allowed")}` : `✗ ${t("sql.rejected")}`),
    violations.length ? el("ul", { class: "small" }, ...violations.map((v) => el("li", {}, el("code", {}, v.rule), " ", v.message))) : null);
}

async function runAsk(event) {
  event.preventDefault();
  showError(null);
  if (!$("#sql-db").value) await loadDatabases();
  const out = $("#sql-output");
  out.replaceChildren(el("p", { class: "muted" }, t("sql.running")));
  let answer;
  try {
    answer = await sendJSON("/api/sql", { database: $("#sql-db").value, question: $("#sql-input").value, dry_run: $("#sql-dry").checked });
  } catch (err) { out.replaceChildren(); return showError(err); }
  const failed = answer.attempts.filter((a) => !a.allowed || a.error);
  fill(out,
    ...failed.map((a) => el("details", { class: "small" }, el("summary", {}, t("sql.attempt", { n: a.number }) + ": " + (a.error || "")),
      el("pre", { class: "sql" }, a.sql || "(no SQL)"), verdict(a.allowed, a.violations))),
    answer.ok ? el("div", {},
      el("h4", {}, t("sql.generated")), el("pre", { class: "sql", id: "sql-generated" }, answer.sql), verdict(true),
      answer.dry_run ? null : el("p", { class: "small muted" }, t("sql.rows", { n: answer.rows.length }) + (answer.truncated ? " (truncated)" : "")),
      answer.dry_run ? null : rowsTable(answer.columns, answer.rows))
      : el("p", { class: "status-bad" }, `${t("sql.failed")}: ${answer.error}`));
}

async function runCheck(event) {
  event.preventDefault();
  showError(null);
  if (!$("#sql-db").value) await loadDatabases();
  let v;
  try { v = await sendJSON("/api/sql/check", { database: $("#sql-db").value, sql: $("#sql-check-input").value }); } catch (err) { return showError(err); }
  fill($("#sql-output"), verdict(v.allowed, v.violations), v.sql ? el("pre", { class: "sql" }, v.sql) : null,
    ...(v.rewrites || []).map((r) => el("p", { class: "small muted" }, r)));
}

export function initSql() {
  $("#sql-form").addEventListener("submit", runAsk);
  $("#sql-check-form").addEventListener("submit", runCheck);
}
