// The dashboard shell: tabs, the admin-API helper (with the session's CSRF token), and the panels' modules.
// A panel's module exports mount(body, ctx, section); see ctx below for what it gets.
import { el, fmtTime, zonedToUtc } from "/dashboard/static/ui.js";

const meta = name => (document.querySelector(`meta[name="${name}"]`) || {}).content || "";
const csrf = meta("csrf-token");
const timezone = meta("shop-timezone") || "UTC";

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const pageId = meta("page-id");

// An admin-API path for this dashboard's Page (?page=, which the API needs when it serves several).
const forPage = path => pageId ? path + (path.includes("?") ? "&" : "?") + "page=" + encodeURIComponent(pageId) : path;

// One admin-API call with the session cookie; state-changing calls carry X-CSRF-Token. The body goes as
// JSON, or as it is with { type } (a CSV file's text: type "text/csv").
async function api(method, path, body, { type } = {}) {
  path = forPage(path);
  const headers = { "Accept": "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = type || "application/json";
  const resp = await fetch(path, { method, headers, credentials: "same-origin",
                                   body: body === undefined ? undefined : type ? body : JSON.stringify(body) });
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (resp.status === 401) { location.assign("/dashboard/sign-in"); throw new ApiError(401, "signed out"); }
  if (!resp.ok) throw new ApiError(resp.status, (data && data.error && data.error.message) || `HTTP ${resp.status}`);
  return data;
}

function route() {
  const [panel, ...rest] = decodeURIComponent(location.hash.replace(/^#/, "")).split("/");
  return { panel, rest };
}

const sections = [...document.querySelectorAll("section.panel")];
const tabs = [...document.querySelectorAll("nav.tabs a")];

function show() {
  const { panel, rest } = route();
  const current = sections.find(s => s.id === panel) || sections[0];
  for (const s of sections) s.classList.toggle("active", s === current);
  for (const t of tabs) t.classList.toggle("active", t.dataset.tab === current.id);
  current.dispatchEvent(new CustomEvent("panel:show", { detail: { rest } }));
}

const ctx = {
  api, ApiError, el, timezone, pageId, forPage,
  time: ms => fmtTime(ms, timezone),
  toUtc: local => zonedToUtc(local, timezone),
  go: hash => { if (location.hash === "#" + hash) show(); else location.hash = hash; },
  visible: section => section.classList.contains("active") && !document.hidden,
};

document.body.classList.add("js");
addEventListener("hashchange", show);
for (const section of sections) {
  const module = section.dataset.module;
  if (!module) continue;
  const body = section.querySelector(".panel-body");
  import(module).then(m => m.mount(body, ctx, section)).then(() => { if (section.classList.contains("active")) show(); })
    .catch(err => { body.replaceChildren(el("p", { class: "alert bad" }, `This panel failed to load: ${err.message}`)); });
}
show();
