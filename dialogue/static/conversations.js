// Conversations: the server draws each kept conversation; this adds a reply box and a "Done" button to each
// (POST /api/conversations/{psid}/replies and /done), and redraws each one from GET /api/conversations/{psid}
// every 5 s while the panel is shown. A refused reply shows the policy's reason; nothing is sent.
import { el } from "/dashboard/static/ui.js";

const AUTHORS = { shopper: "Shopper", agent: "You (agent)", page_inbox: "Page inbox", bot: "Bot" };
const REFRESH_MS = 5000;

export function mount(body, ctx, section) {
  const cards = [...body.querySelectorAll("article.conversation")];

  function state(view) {
    const t = view.takeover, parts = [
      t.paused ? `bot paused until ${ctx.time(t.paused_until_ms)}` : "bot answering",
      t.thread_owner === "page_inbox" ? "thread with the Page Inbox" : "thread with the bot"];
    if (t.needs_human_since_ms) parts.push(`waiting for a person since ${ctx.time(t.needs_human_since_ms)}`);
    parts.push(view.reply.allowed ? `a reply goes as ${view.reply.route}` : `no reply possible (${view.reply.reason})`);
    return parts.join(" · ");
  }

  const asked = new Map();  // card -> the number of its latest redraw: an older answer arriving late is dropped
  async function redraw(card) {
    const n = (asked.get(card) || 0) + 1;
    asked.set(card, n);
    const view = await ctx.api("GET", `/api/conversations/${encodeURIComponent(card.dataset.psid)}`);
    if (asked.get(card) !== n) return;
    card.querySelector(".state").textContent = state(view);
    const lines = view.messages.map(m => el("li", { class: `msg ${m.from}` },
      el("span", { class: "who" }, AUTHORS[m.from] || m.from), " ", el("time", {}, ctx.time(m.at_ms)),
      m.standby ? el("em", {}, " (standby)") : "", el("p", {}, m.text)));
    card.querySelector("ol.messages").replaceChildren(...(lines.length ? lines
      : [el("li", { class: "muted" }, "Nothing kept yet.")]));
  }

  for (const card of cards) {
    const psid = card.dataset.psid;
    const text = el("textarea", { name: "text", maxlength: 2000, required: true, "aria-label": "Reply",
                                  placeholder: "Reply as a person of the shop" });
    const status = el("p", { class: "muted", role: "status" });
    const send = el("button", { type: "submit" }, "Send reply");
    const done = el("button", { type: "button", class: "secondary" }, "Done: back to the bot");
    const form = el("form", { class: "stack reply" }, text, el("div", { class: "row" }, send, done), status);
    card.append(form);
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      status.textContent = "";
      try {
        const sent = await ctx.api("POST", `/api/conversations/${encodeURIComponent(psid)}/replies`,
                                   { text: text.value.trim() });
        text.value = "";
        status.textContent = `Queued as ${sent.route}; the bot stays quiet until ${ctx.time(sent.paused_until_ms)}.`;
        await redraw(card);
      } catch (err) { status.textContent = err.message; }
    });
    done.addEventListener("click", async () => {
      try {
        const r = await ctx.api("POST", `/api/conversations/${encodeURIComponent(psid)}/done`);
        status.textContent = r.thread_taken_back ? "Done: the bot took the thread back." : "Done: the bot answers again.";
        await redraw(card);
      } catch (err) { status.textContent = err.message; }
    });
  }

  async function refresh() {
    if (!ctx.visible(section)) return;
    for (const card of cards) { try { await redraw(card); } catch (err) { /* shown on the next action */ } }
  }
  section.addEventListener("panel:show", refresh);
  setInterval(refresh, REFRESH_MS);
}
