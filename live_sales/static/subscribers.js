// Subscribers: the consent ledger of a topic (GET /api/subscribers), searchable by name or PSID, with CSV export.
import { el } from "/dashboard/static/ui.js";

const NAMES_PER_CALL = 100, NAMES_MAX = 1000;
const STATUSES = ["", "active", "stopped", "opted_out", "unreachable"];

export function mount(body, ctx, section) {
  let rows = [], names = {}, topic = "";
  const topicInput = el("input", { id: "sub-topic", placeholder: "topic (default: the opt-in topic)", "aria-label": "Topic" });
  const search = el("input", { id: "sub-search", type: "search", placeholder: "Search name or PSID", "aria-label": "Search" });
  const status = el("select", { id: "sub-status", "aria-label": "Status" },
    STATUSES.map(s => el("option", { value: s }, s ? s.replace("_", " ") : "any status")));
  const csv = el("a", { class: "button secondary", id: "sub-csv", download: "" }, "Export CSV");
  const counts = el("p", { class: "muted", id: "sub-counts" });
  const table = el("div", { class: "table-wrap" });
  const form = el("form", { class: "row" }, el("div", { class: "grow" }, topicInput),
                  el("button", { type: "submit", class: "secondary" }, "Load"), csv);
  body.replaceChildren(form, el("div", { class: "row" }, el("div", { class: "grow" }, search), status), counts, table);
  form.addEventListener("submit", ev => { ev.preventDefault(); load(); });
  search.addEventListener("input", draw);
  status.addEventListener("change", draw);

  async function load() {
    const wanted = topicInput.value.trim();
    try {
      const ledger = await ctx.api("GET", "/api/subscribers" + (wanted ? `?topic=${encodeURIComponent(wanted)}` : ""));
      rows = ledger.subscribers;
      topic = ledger.topic;
      csv.href = ctx.forPage(`/api/subscribers?topic=${encodeURIComponent(topic)}&format=csv`);
      const c = ledger.counts;
      counts.textContent = `${topic}: ${c.total} in all · ${c.active} active · ${c.stopped} stopped · ` +
                           `${c.opted_out} opted out · ${c.unreachable} unreachable`;
      draw();
      await loadNames();
      draw();
    } catch (err) { counts.textContent = err.message; }
  }

  async function loadNames() {
    const todo = rows.map(r => r.psid).filter(p => !(p in names)).slice(0, NAMES_MAX);
    for (let i = 0; i < todo.length; i += NAMES_PER_CALL) {
      const query = todo.slice(i, i + NAMES_PER_CALL).map(p => "psid=" + encodeURIComponent(p)).join("&");
      for (const s of (await ctx.api("GET", "/api/shoppers?" + query)).shoppers) names[s.psid] = s.name;
    }
  }

  function draw() {
    const q = search.value.trim().toLowerCase(), wanted = status.value;
    const shown = rows.filter(r => (!wanted || r.status === wanted) &&
      (!q || r.psid.includes(q) || (names[r.psid] || "").toLowerCase().includes(q)));
    const tokens = r => [r.marketing_token ? `marketing (${r.path})` : "", r.otn_tokens ? `${r.otn_tokens} OTN` : ""]
      .filter(Boolean).join(", ");
    table.replaceChildren(el("table", { id: "subscribers" },
      el("thead", {}, el("tr", {}, ["Name", "PSID", "Status", "Tokens", "Opted in"].map(h => el("th", {}, h)))),
      el("tbody", {}, shown.slice(0, 500).map(r => el("tr", { "data-psid": r.psid },
        el("td", {}, names[r.psid] || "—"), el("td", {}, r.psid),
        el("td", {}, el("span", { class: `badge ${r.status}` }, r.status.replace("_", " "))),
        el("td", {}, tokens(r) || "—"), el("td", {}, r.opted_in_ms ? ctx.time(r.opted_in_ms) : "—"))))),
      shown.length > 500 ? el("p", { class: "muted" }, `Showing 500 of ${shown.length}; narrow the search or export CSV.`) : "",
      shown.length ? "" : el("p", { class: "muted" }, rows.length ? "Nobody matches." : "No subscriber yet."));
  }

  section.addEventListener("panel:show", load);
}
