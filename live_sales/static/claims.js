// Claims: a sale's products (stock, claimed, left; add from a CSV file) and its claims by comment, live:
// who got what, the waitlist in comment-time order, the claim numbers, and the host's Paid / Cancel.
import { el, oneAtATime } from "/dashboard/static/ui.js";
import { reason } from "./labels.js";

const POLL_MS = 1000;
const STATUSES = ["pending", "claimed", "waitlisted", "released", "paid", "cancelled"];

export function mount(body, ctx, section) {
  let saleId = null, status = "", timer = null;
  const picker = el("select", { id: "claims-sale", "aria-label": "Live sale" });
  const filter = el("select", { id: "claims-status", "aria-label": "Show claims" },
    el("option", { value: "" }, "All claims"), STATUSES.map(s => el("option", { value: s }, s)));
  const message = el("p", { class: "error", role: "status", id: "claims-message" });
  const numbers = el("div", { id: "claim-numbers" });
  const products = el("div", { id: "claim-products" });
  const claims = el("div", { id: "claims-table" });
  const confirmBox = el("input", { id: "claims-confirm", type: "checkbox", checked: true });
  const upload = el("input", { id: "products-csv", type: "file", accept: ".csv,text/csv", "aria-label": "Products CSV file" });
  const importForm = el("form", { id: "products-import", class: "row" }, upload,
    el("button", { type: "submit", class: "secondary" }, "Import products"));
  importForm.addEventListener("submit", ev => {
    ev.preventDefault();
    const file = upload.files[0];
    if (!file || !saleId) return;
    act(async () => {
      await ctx.api("POST", `/api/live-sales/${encodeURIComponent(saleId)}/products/import`, await file.text(),
                    { type: "text/csv" });
      importForm.reset();
    });
  });
  picker.addEventListener("change", () => ctx.go(`claims/${picker.value}`));
  filter.addEventListener("change", () => { status = filter.value; refresh(); });
  body.replaceChildren(
    el("div", { class: "row" }, picker, filter), message, numbers,
    el("h3", {}, "Products"), products,
    el("p", { class: "hint" }, "A CSV file with the columns code, title, quantity and, if you like, price, currency, image_url, variant: " +
                 "a row per product, or per variant."),
    importForm,
    el("h3", {}, "Claims, in comment order"),
    el("label", { class: "row", for: "claims-confirm" }, confirmBox,
       "Marking a claim paid sends the shopper the order confirmation"), claims);

  const act = oneAtATime(message, () => refresh());

  function productTable(list) {
    if (!list.length) return el("p", { class: "muted" }, "No products yet: import a CSV file, or `salebell products add`.");
    const rows = list.flatMap(p => (p.variants.length ? p.variants : [null]).map(v => {
      const lot = v || p;
      return el("tr", { "data-lot": `${p.code}|${v ? v.name : ""}` },
        el("td", {}, p.code), el("td", {}, v ? v.name : "—"), el("td", {}, p.title),
        el("td", { class: "num" }, p.price == null ? "—" : String(p.price)),
        el("td", { class: "num", "data-n": "stock" }, String(lot.quantity)),
        el("td", { class: "num", "data-n": "taken" }, String(lot.taken)),
        el("td", { class: "num", "data-n": "left" }, String(lot.left)));
    }));
    return el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Code", "Variant", "Title", "Price", "Stock", "Claimed", "Left"].map(
        (h, i) => el("th", { class: i > 2 ? "num" : null }, h)))),
      el("tbody", {}, rows)));
  }

  function claimTable(list) {
    if (!list.length) return el("p", { class: "muted" }, "No claims yet: shoppers comment “SOLD <code>” under the live video.");
    const change = (claim, to, ask) => el("button", { type: "button", class: to === "paid" ? "" : "danger",
      "data-action": to, onclick: () => { if (!ask || confirm(ask)) act(() => ctx.api("PATCH",
        `/api/live-sales/${encodeURIComponent(saleId)}/claims/${encodeURIComponent(claim.claim_id)}`,
        to === "paid" && confirmBox.checked ? { status: to, confirm: true } : { status: to })); } },
      to === "paid" ? "Paid" : "Cancel");
    const rows = list.map(c => el("tr", { "data-claim": c.claim_id, "data-status": c.status },
      el("td", {}, ctx.time(c.comment_ms)), el("td", {}, c.name || c.psid),
      el("td", {}, c.code + (c.variant ? ` ${c.variant}` : "") + (c.quantity > 1 ? ` ×${c.quantity}` : "")),
      el("td", {}, el("span", { class: `badge ${c.status}` }, c.status),
         c.waitlist_position ? ` #${c.waitlist_position}` : "", c.reason ? ` (${reason(c.reason)})` : ""),
      el("td", { class: "row" },
         c.status === "claimed" ? change(c, "paid") : null,
         ["claimed", "paid", "waitlisted", "pending"].includes(c.status)
           ? change(c, "cancelled", `Cancel ${c.name || c.psid}'s claim on ${c.code}? Its units go to the waitlist.`) : null)));
    return el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Comment", "Shopper", "Product", "Status", ""].map(h => el("th", {}, h)))),
      el("tbody", {}, rows)));
  }

  function numberLine(n) {
    const part = (what, count, key) => el("span", { "data-claims": key }, `${count} ${what}`);
    const unanswered = Object.entries(n.unanswered);
    return [
      el("p", {}, part("claim comments", n.comments, "comments"), " · ", part("claimed", n.claimed, "claimed"), " · ",
         part("waitlisted", n.waitlisted, "waitlisted"), " · ", part("promoted", n.promoted, "promoted"), " · ",
         part("released", n.released_total, "released"), " · ", part("paid", n.paid, "paid"), " · ",
         part("cancelled", n.cancelled, "cancelled"), " · ", part("answers sent", n.answers.sent, "sent")),
      unanswered.length ? el("p", { class: "alert", "data-unanswered": "" }, "Not answered: " +
        unanswered.map(([r, c]) => `${reason(r)} (${r}): ${c}`).join(", ")) : null,
    ];
  }

  async function refresh() {
    try {
      const sales = (await ctx.api("GET", "/api/live-sales")).live_sales;
      if (!saleId || !sales.some(s => s.id === saleId)) {
        const live = sales.find(s => s.status === "live");
        saleId = (live || sales[0] || {}).id || null;
      }
      picker.replaceChildren(...sales.map(s => el("option", { value: s.id, selected: s.id === saleId },
                                                   `${s.title} (${s.id}, ${s.status})`)));
      if (!saleId) {
        products.replaceChildren(el("p", { class: "muted" }, "No live sale yet: create one in Live sales."));
        claims.replaceChildren();
        numbers.replaceChildren();
        return schedule(null);
      }
      const base = `/api/live-sales/${encodeURIComponent(saleId)}`;
      const [sale, stock, list] = await Promise.all([ctx.api("GET", base), ctx.api("GET", `${base}/products`),
        ctx.api("GET", `${base}/claims` + (status ? `?status=${status}` : ""))]);
      numbers.replaceChildren(...numberLine(sale.claims));
      products.replaceChildren(productTable(stock.products));
      claims.replaceChildren(claimTable(list.claims));
      schedule(sale);
    } catch (err) { message.textContent = err.message; }
  }

  // While the sale is live (claims come in), look again every second.
  function schedule(sale) {
    clearTimeout(timer);
    if (sale && sale.status === "live") timer = setTimeout(poll, POLL_MS);
  }
  async function poll() { if (ctx.visible(section)) await refresh(); else timer = setTimeout(poll, POLL_MS); }

  section.addEventListener("panel:show", ev => { saleId = ev.detail.rest[0] || saleId; refresh(); });
}
