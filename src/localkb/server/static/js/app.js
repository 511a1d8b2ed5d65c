// The localkb page: tabs, language toggle, token prompt; each tab lives in its own module.
import { getToken, setToken } from "./api.js";
import { initAsk } from "./ask.js";
import { initAudit } from "./audit.js";
import { initDocuments, loadDocuments } from "./documents.js";
import { applyStrings, currentLang, setLang } from "./i18n.js";
import { initMap, loadMap } from "./map.js";
import { initOverview, loadStats, onKBChanged, renderJobs } from "./overview.js";
import { initSearch, setModes } from "./search.js";
import { initSql, loadDatabases } from "./sql.js";
import { $, showError } from "./ui.js";

function showTab(name) {
  document.querySelectorAll("nav [role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  document.querySelectorAll("main > section").forEach((s) => { s.hidden = s.id !== `tab-${name}`; });
  history.replaceState(null, "", `#${name}`);
  if (name === "documents") loadDocuments();
  if (name === "overview") { loadStats().catch(showError); renderJobs(); }
  if (name === "sql") loadDatabases();
  if (name === "map") loadMap();
}

async function start() {
  applyStrings();
  $("#lang-toggle").addEventListener("click", () => { setLang(currentLang() === "zh" ? "en" : "zh"); refresh(); });
  $("#token-input").value = getToken();
  $("#token-save").addEventListener("click", () => {
    setToken($("#token-input").value.trim());
    $("#token-bar").hidden = true;
    showError(null);
    refresh();
  });
  document.querySelectorAll("nav [role=tab]").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
  initOverview();
  initAudit();
  initDocuments();
  initSearch();
  initAsk();
  initSql();
  initMap();
  onKBChanged(() => loadDocuments());
  const tab = location.hash.slice(1) || "overview";
  showTab(["overview", "documents", "search", "ask", "sql", "map"].includes(tab) ? tab : "overview");
  await refresh();
  setInterval(() => { if (!document.hidden && !$("#tab-overview").hidden) renderJobs(); }, 3000);
}

async function refresh() {
  try {
    const stats = await loadStats();
    setModes(stats.server.search_modes);
    document.body.dataset.ready = "true";
  } catch (err) {
    showError(err);
  }
  renderJobs();
}

start();
