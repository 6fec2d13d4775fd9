// Numbers: the last 7 days (sent, delivered, read per day; skips by reason) as inline SVG, per-sale numbers,
// and who messaged or commented but never opted in.
import { barChart, el, legend, stackedChart } from "/dashboard/static/ui.js";
import { reason } from "./labels.js";

export function mount(body, ctx, section) {
  const view = el("div", { id: "numbers" }, el("p", { class: "muted" }, "Loading…"));
  body.replaceChildren(view);

  async function refresh() {
    try {
      const [stats, sales, quiet] = await Promise.all([
        ctx.api("GET", "/api/stats?days=7"), ctx.api("GET", "/api/live-sales"),
        ctx.api("GET", "/api/stats/not-opted-in?days=7&limit=50")]);
      view.replaceChildren(...render(stats, sales.live_sales, quiet));
    } catch (err) { view.replaceChildren(el("p", { class: "error" }, err.message)); }
  }

  function render(stats, sales, quiet) {
    const days = [...stats.days].reverse(), labels = days.map(d => d.day.slice(5));
    const t = stats.totals;
    const kpi = (n, what, key) => el("div", { class: "kpi", "data-kpi": key }, el("div", { class: "n" }, String(n)),
                                     el("div", { class: "what" }, what));
    const reasons = [...new Set(days.flatMap(d => Object.keys(d.skipped)))].slice(0, 6);
    const parts = reasons.map((r, i) => ({ name: reason(r), cls: `skip-${i}`, values: days.map(d => d.skipped[r] || 0) }));
    return [
      el("div", { class: "kpis" }, kpi(t.sent, "sent in 7 days", "sent"), kpi(t.delivered, "delivered", "delivered"),
         kpi(t.read, "read", "read"), kpi(t.skipped_total, "skipped", "skipped"), kpi(t.failed_total, "failed", "failed"),
         kpi(t.active_not_opted_in ?? 0, "active, never opted in", "quiet")),
      ...stats.warnings.map(w => el("p", { class: "alert", "data-warning": "" }, "⚠ " + w)),
      el("div", { class: "two" },
        el("div", { id: "chart-sent" }, el("h3", {}, "Per day: sent, delivered, read"),
          legend([["sent", "sent"], ["delivered", "delivered"], ["read", "read"]]),
          barChart(labels, [{ name: "sent", cls: "sent", values: days.map(d => d.sent) },
                            { name: "delivered", cls: "delivered", values: days.map(d => d.delivered) },
                            { name: "read", cls: "read", values: days.map(d => d.read) }],
                   { title: "Messages sent, delivered and read per day" })),
        el("div", { id: "chart-skipped" }, el("h3", {}, "Per day: skipped, by reason"),
          parts.length ? legend(parts.map(p => [p.cls, p.name])) : el("p", { class: "muted" }, "Nothing skipped in these days."),
          parts.length ? stackedChart(labels, parts, { title: "Skipped notifications per day by reason" }) : null)),
      el("h3", {}, "Per sale"),
      saleTable(sales),
      el("h3", {}, `Never opted in (active in the last 7 days): ${quiet.count}`),
      quietList(quiet),
    ];
  }

  function saleTable(sales) {
    if (!sales.length) return el("p", { class: "muted" }, "No live sale yet.");
    const head = ["Sale", "Status", "Eligible", "Sent", "Delivered", "Read", "Skipped", "Failed"];
    return el("div", { class: "table-wrap" }, el("table", { id: "sale-numbers" },
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: i > 1 ? "num" : "" }, h)))),
      el("tbody", {}, sales.map(s => el("tr", { "data-sale": s.id },
        el("td", {}, el("a", { href: `#sales/${s.id}` }, s.title)), el("td", {}, s.status),
        ...[s.fanout.eligible, s.numbers.sent, s.numbers.delivered, s.numbers.read, s.numbers.skipped_total,
            s.numbers.failed_total].map(n => el("td", { class: "num" }, String(n))))))));
  }

  function quietList(quiet) {
    if (!quiet.count) return el("p", { class: "muted" }, "Everyone who wrote lately can be reached.");
    return el("div", {},
      el("p", { class: "muted" }, "They messaged or commented but hold no opt-in: no live-sale notification can reach " +
         "them. Ask them to type the opt-in keyword or tap Get reminders."),
      el("div", { class: "table-wrap" }, el("table", { id: "quiet" },
        el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "PSID"), el("th", {}, "Last message"))),
        el("tbody", {}, quiet.shoppers.map(s => el("tr", {}, el("td", {}, s.name || "—"), el("td", {}, s.psid),
                                                  el("td", {}, ctx.time(s.last_action_ms))))))),
      quiet.count > quiet.shoppers.length ? el("p", { class: "muted" }, `…and ${quiet.count - quiet.shoppers.length} more.`) : null);
  }

  section.addEventListener("panel:show", refresh);
}
