// Blasts: compose, preview against the policy (who would be reached, by which route, who skipped and why), send.
import { el } from "/dashboard/static/ui.js";
import { reason, route } from "./labels.js";

export function mount(body, ctx, section) {
  let previewed = null, timer = null;
  const text = el("textarea", { id: "blast-text", name: "text", maxlength: 2000, required: true,
                                placeholder: "Restock at 9 tonight! 🎉" });
  const url = el("input", { id: "blast-url", name: "url", type: "url", placeholder: "https://shop.example/restock (optional)" });
  const button = el("input", { id: "blast-button", name: "button_title", maxlength: 20, placeholder: "Button label (optional)" });
  const topic = el("input", { id: "blast-topic", name: "topic", placeholder: "topic (default: the opt-in topic)" });
  const preview = el("div", { id: "blast-preview" });
  const send = el("button", { type: "button", id: "blast-send", disabled: true }, "Send blast");
  const check = el("button", { type: "submit", class: "secondary", id: "blast-check" }, "Preview");
  const message = el("p", { class: "error", role: "status" });
  const list = el("div", { id: "blast-list" });
  const form = el("form", { class: "stack card", id: "blast-form" }, el("h3", {}, "New blast"),
    el("label", { for: "blast-text" }, "Message"), text, el("label", { for: "blast-url" }, "Link"), url,
    el("label", { for: "blast-button" }, "Button label"), button, el("label", { for: "blast-topic" }, "Topic"), topic,
    el("div", { class: "row" }, check, send), preview, message);
  body.replaceChildren(form, el("h3", {}, "Sent blasts"), list);

  const draft = () => {
    const d = { text: text.value.trim() };
    for (const [k, input] of [["url", url], ["button_title", button], ["topic", topic]]) if (input.value.trim()) d[k] = input.value.trim();
    return d;
  };
  for (const input of [text, url, button, topic]) input.addEventListener("input", () => { previewed = null; send.disabled = true; });

  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    message.textContent = "";
    try {
      const d = draft(), p = await ctx.api("POST", "/api/broadcasts/preview", d);
      previewed = JSON.stringify(d);
      preview.replaceChildren(describe(p));
      send.disabled = !!p.message_problem || !d.text;
    } catch (err) { message.textContent = err.message; }
  });

  send.addEventListener("click", async () => {
    const d = draft();
    if (JSON.stringify(d) !== previewed) { message.textContent = "Preview the blast again: it changed."; return; }
    if (!confirm("Send this blast to every subscriber the preview counted?")) return;
    send.disabled = true;
    try {
      await ctx.api("POST", "/api/broadcasts", d);
      form.reset(); preview.replaceChildren(); previewed = null;
      await refresh();
    } catch (err) { message.textContent = err.message; }
  });

  function describe(p) {
    return el("div", { class: "preview" },
      el("div", { class: "big", "data-preview": "reached" }, `Would reach ${p.reached} of ${p.recipients}`),
      el("ul", { class: "reasons", "data-preview": "routes" },
         Object.entries(p.by_route).map(([via, n]) => el("li", {}, `${n} ${route(via)}`))),
      p.skipped_total ? el("div", {}, el("strong", {}, `Skipped: ${p.skipped_total}`),
        el("ul", { class: "reasons", "data-preview": "skipped" },
           Object.entries(p.skipped).map(([r, n]) => el("li", {}, `${n} ${reason(r)} (${r})`)))) : null,
      p.never_opted_in_7_days ? el("p", { class: "muted" },
        `${p.never_opted_in_7_days} shoppers wrote in the last 7 days but never opted in: they will not get it.`) : null,
      el("p", { class: "muted" }, "Checked against the policy now; the daily limits and token gaps apply when it is sent."),
      p.message_problem ? el("p", { class: "error" }, "Messenger would refuse this message: " + p.message_problem) : null);
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const blasts = (await ctx.api("GET", "/api/broadcasts")).broadcasts;
      list.replaceChildren(...(blasts.length ? blasts.map(b => el("article", { class: "sale", "data-blast": b.id },
        el("div", { class: "row" }, el("span", { class: "title grow" }, b.text.slice(0, 80)),
           el("span", { class: "badge" }, b.fanout.complete ? "done" : b.fanout.state)),
        el("div", { class: "muted" }, `${b.id} · ${ctx.time(Date.parse(b.created_at))} · topic ${b.topic}`),
        el("div", {}, `${b.numbers.sent} sent of ${b.fanout.eligible} · ${b.numbers.delivered} delivered · ` +
           `${b.numbers.read} read · ${b.numbers.skipped_total} skipped · ${b.numbers.failed_total} failed`),
        b.fanout.state === "running" ? el("button", { type: "button", class: "danger", onclick: async () => {
          if (confirm("Cancel the rest of this blast?")) { await ctx.api("POST", `/api/broadcasts/${b.id}/cancel`); refresh(); }
        } }, "Cancel") : null)) : [el("p", { class: "muted" }, "No blast sent yet.")]));
      if (blasts.some(b => !b.fanout.complete)) timer = setTimeout(() => ctx.visible(section) && refresh(), 1000);
    } catch (err) { message.textContent = err.message; }
  }

  section.addEventListener("panel:show", refresh);
}
