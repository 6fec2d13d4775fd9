// Conversations: the server draws each kept conversation; this adds a reply box and a "Done" button to each
// (POST /api/conversations/{psid}/replies and /done). A refused reply shows the policy's reason; nothing is sent.
import { el } from "/dashboard/static/ui.js";

export function mount(body, ctx) {
  for (const card of body.querySelectorAll("article.conversation")) {
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
        const list = card.querySelector("ol.messages");
        list.append(el("li", { class: "msg agent" }, el("span", { class: "who" }, "You (agent)"), " ",
                       el("p", {}, text.value.trim())));
        text.value = "";
        status.textContent = `Queued as ${sent.route}; the bot stays quiet until ${ctx.time(sent.paused_until_ms)}.`;
      } catch (err) { status.textContent = err.message; }
    });
    done.addEventListener("click", async () => {
      try {
        const r = await ctx.api("POST", `/api/conversations/${encodeURIComponent(psid)}/done`);
        status.textContent = r.thread_taken_back ? "Done: the bot took the thread back." : "Done: the bot answers again.";
      } catch (err) { status.textContent = err.message; }
    });
  }
}
