// Live sales: list, create and schedule, link posts, start, end, cancel; a sale's fan-out progress, polled live.
import { el, oneAtATime } from "/dashboard/static/ui.js";
import { reason } from "./labels.js";

const POLL_MS = 1000;
const ROWS = [["eligible", "Eligible"], ["queued", "Queued"], ["sent", "Sent"], ["delivered", "Delivered"],
              ["read", "Read"], ["skipped", "Skipped"], ["failed", "Failed"]];

export function mount(body, ctx, section) {
  let sales = [], selected = null, timer = null;
  const list = el("div", { class: "sales", id: "sale-list" });
  const detail = el("div", { id: "sale-detail" });
  const message = el("p", { class: "error", role: "status" });
  const creating = el("details", { id: "sale-new", class: "card" }, el("summary", {}, "+ New live sale"), createForm());
  body.replaceChildren(message, detail, creating, el("h3", {}, "All sales"), list);

  function createForm() {
    const form = el("form", { id: "sale-form", class: "stack" },
      el("label", { for: "sale-title" }, "Title"),
      el("input", { id: "sale-title", name: "title", required: true, maxlength: 200, placeholder: "Denim drop" }),
      el("label", { for: "sale-url" }, "Where shoppers watch (the Watch now button)"),
      el("input", { id: "sale-url", name: "url", type: "url", placeholder: "https://www.facebook.com/yourpage/live" }),
      el("label", { for: "sale-when" }, `Starts at (shop time: ${ctx.timezone})`),
      el("input", { id: "sale-when", name: "when", type: "datetime-local" }),
      el("label", { for: "sale-posts" }, "Linked posts or live videos (ids, comma-separated; optional)"),
      el("input", { id: "sale-posts", name: "posts", placeholder: "1234567890_111, 987654321" }),
      el("label", { for: "sale-topic" }, "Topic (optional; default: the opt-in topic)"),
      el("input", { id: "sale-topic", name: "topic", placeholder: "daily_reminders" }),
      el("div", { class: "row" }, el("button", { type: "submit" }, "Create sale")));
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      const data = new FormData(form), payload = { title: data.get("title").trim() };
      if (data.get("url")) payload.url = data.get("url").trim();
      if (data.get("when")) payload.scheduled_at = ctx.toUtc(data.get("when"));
      const posts = ids(data.get("posts"));
      if (posts.length) payload.post_ids = posts;
      if (data.get("topic")) payload.topic = data.get("topic").trim();
      await act(async () => {
        const sale = await ctx.api("POST", "/api/live-sales", payload);
        form.reset();
        creating.open = false;
        ctx.go(`sales/${sale.id}`);
      });
    });
    return form;
  }

  const act = oneAtATime(message, () => refresh());

  function card(sale) {
    const n = sale.numbers, f = sale.fanout;
    const actions = el("div", { class: "row actions" });
    const button = (label, action, cls, ask) => el("button", { type: "button", class: cls, "data-action": action,
      onclick: () => { if (!ask || confirm(ask)) act(() => ctx.api("POST", `/api/live-sales/${sale.id}/${action}`)); } }, label);
    if (sale.status === "scheduled") actions.append(button("Start", "start", "", `Start “${sale.title}” and notify its subscribers now?`));
    if (sale.status === "live") actions.append(button("End", "end", "secondary", `End “${sale.title}”?`));
    if (f.state === "running") actions.append(button("Cancel fan-out", "cancel", "danger", "Stop notifying the rest of the subscribers?"));
    actions.append(el("a", { class: "button secondary", href: `#sales/${sale.id}` }, "Details"));
    return el("article", { class: "sale" + (sale.id === selected ? " selected" : ""), "data-sale": sale.id },
      el("div", { class: "row" }, el("span", { class: "title grow" }, sale.title),
         el("span", { class: `badge ${sale.status}` }, sale.status)),
      el("div", { class: "muted" }, `${sale.id} · planned ${ctx.time(sale.scheduled_ms)}` +
         (sale.started_at ? ` · started ${ctx.time(Date.parse(sale.started_at))}` : "")),
      el("div", {}, `${n.sent} sent of ${f.eligible} · ${n.delivered} delivered · ${n.read} read` +
         (n.skipped_total ? ` · ${n.skipped_total} skipped` : "") + (n.failed_total ? ` · ${n.failed_total} failed` : "")),
      actions);
  }

  function progress(sale) {
    const n = sale.numbers, f = sale.fanout, total = Math.max(1, f.eligible);
    const value = { ...n, eligible: f.eligible, skipped: n.skipped_total, failed: n.failed_total };
    const grid = el("div", { class: "progress", id: "sale-progress" });
    for (const [key, label] of ROWS) {
      const bar = el("div", { class: `bar ${key}` }, el("span"));
      bar.firstChild.style.width = `${Math.min(100, (100 * value[key]) / total)}%`;
      grid.append(el("span", { class: "label" }, label), bar, el("span", { class: "value", "data-n": key }, String(value[key])));
    }
    const reasons = (kind, counts) => Object.keys(counts).length ? el("div", {}, el("strong", {}, kind),
      el("ul", { class: "reasons", "data-reasons": kind.toLowerCase() },
         Object.entries(counts).map(([r, c]) => el("li", {}, `${reason(r)} (${r}): ${c}`)))) : null;
    const state = f.complete ? "done" : f.state === "none" ? (sale.status === "scheduled" ? "not started" : "—") : f.state;
    const linkForm = el("form", { class: "row", id: "link-form" },
      el("input", { name: "posts", class: "grow", placeholder: "Link a post or live video id", "aria-label": "Post or live video id" }),
      el("button", { type: "submit", class: "secondary" }, "Link"));
    linkForm.addEventListener("submit", ev => {
      ev.preventDefault();
      const posts = ids(new FormData(linkForm).get("posts"));
      if (posts.length) act(() => ctx.api("POST", `/api/live-sales/${sale.id}/links`, { post_ids: posts }));
    });
    return el("div", { class: "card", "data-detail": sale.id },
      el("div", { class: "row" }, el("h3", { class: "grow" }, `${sale.title} (${sale.id})`),
         el("a", { href: "#sales" }, "Close")),
      el("p", {}, "Fan-out: ", el("span", { class: `state ${state}`, id: "fanout-state" }, state),
         f.state === "running" ? ` · ${n.pending} waiting to send` : ""),
      grid, reasons("Skipped", n.skipped), reasons("Failed", n.failed),
      el("p", { class: "muted" }, `Watch link: ${sale.url || "none yet"} · topic ${sale.topic} · linked: ` +
         (sale.post_ids.length ? sale.post_ids.join(", ") : "nothing")),
      sale.status !== "ended" ? linkForm : null);
  }

  async function refresh() {
    try {
      sales = (await ctx.api("GET", "/api/live-sales")).live_sales;
      let current = sales.find(s => s.id === selected);
      if (selected && !current) current = await ctx.api("GET", `/api/live-sales/${encodeURIComponent(selected)}`);
      list.replaceChildren(...(sales.length ? sales.map(card) : [el("p", { class: "muted" }, "No live sale yet.")]));
      if (!sales.length) creating.open = true;
      detail.replaceChildren(...(current ? [progress(current)] : []));
      schedule(current);
    } catch (err) { message.textContent = err.message; }
  }

  // While a sale's fan-out runs (or its receipts still come in), poll it every second.
  function schedule(current) {
    clearTimeout(timer);
    const moving = current && (current.fanout.state === "running" || !current.fanout.complete && current.status === "live");
    const live = sales.some(s => s.fanout.state === "running");
    if (moving || live || current && current.status === "live") timer = setTimeout(poll, POLL_MS);
  }
  async function poll() { if (ctx.visible(section)) await refresh(); else timer = setTimeout(poll, POLL_MS); }

  section.addEventListener("panel:show", ev => { selected = ev.detail.rest[0] || null; refresh(); });
}

function ids(text) { return (text || "").split(/[\s,]+/).map(s => s.trim()).filter(Boolean); }
