// Small helpers every panel may import: elements, times in the shop's zone, and inline-SVG charts.

// el("div", {class: "x", onclick: fn}, "text", child, ...): a DOM element (text is never parsed as HTML).
export function el(tag, attrs, ...children) {
  const svg = ["svg", "rect", "g", "text", "line", "title", "path"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function fmtTime(ms, timezone) {
  if (!ms) return "—";
  return new Intl.DateTimeFormat(undefined, { timeZone: timezone, weekday: "short", day: "numeric", month: "short",
                                              hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(ms));
}

function offsetMs(ms, timezone) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: timezone, hourCycle: "h23", year: "numeric",
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms));
  const v = Object.fromEntries(parts.map(p => [p.type, p.value]));
  return Date.UTC(+v.year, +v.month - 1, +v.day, +v.hour, +v.minute, +v.second) - Math.floor(ms / 1000) * 1000;
}

// "2026-12-04T20:00" read as a wall-clock time in the shop's zone -> ISO 8601 UTC.
export function zonedToUtc(local, timezone) {
  const [d, t] = local.split("T");
  const [y, m, day] = d.split("-").map(Number);
  const [hh, mm] = (t || "00:00").split(":").map(Number);
  const wall = Date.UTC(y, m - 1, day, hh, mm);
  let guess = wall;
  for (let i = 0; i < 3; i++) guess = wall - offsetMs(guess, timezone);
  return new Date(guess).toISOString().replace(".000Z", "Z");
}

// A grouped bar chart: one group per label, one bar per series ({name, cls, values}).
// The SVG of a chart with its horizontal grid and axis numbers up to a round ceiling over max.
function chartFrame(labels, max, height, title) {
  const width = 640, left = 34, bottom = 24, top = 8;
  const step = niceStep(max), ceiling = Math.ceil(max / step) * step;
  const plotH = height - top - bottom, groupW = (width - left) / labels.length;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  for (let v = 0; v <= ceiling; v += step) {
    const y = top + plotH - (v / ceiling) * plotH;
    svg.append(el("line", { class: "grid", x1: left, x2: width, y1: y, y2: y }),
               el("text", { x: left - 4, y: y + 4, "text-anchor": "end" }, String(v)));
  }
  return { svg, left, top, plotH, groupW, ceiling };
}

export function barChart(labels, series, { height = 180, title = "" } = {}) {
  const { svg, left, top, plotH, groupW, ceiling } =
    chartFrame(labels, Math.max(1, ...series.flatMap(s => s.values)), height, title);
  const barW = Math.max(2, (groupW - 8) / series.length);
  labels.forEach((label, i) => {
    const x0 = left + i * groupW + 4;
    series.forEach((s, j) => {
      const h = (s.values[i] / ceiling) * plotH;
      svg.append(el("rect", { class: s.cls, x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: Math.max(0, h) },
                    el("title", {}, `${label} ${s.name}: ${s.values[i]}`)));
    });
    svg.append(el("text", { x: x0 + (groupW - 8) / 2, y: height - 6, "text-anchor": "middle" }, label));
  });
  return svg;
}

// A stacked bar chart: one bar per label, stacked by part ({name, cls, values}).
export function stackedChart(labels, parts, { height = 150, title = "" } = {}) {
  const totals = labels.map((_, i) => parts.reduce((n, p) => n + p.values[i], 0));
  const { svg, left, top, plotH, groupW, ceiling } = chartFrame(labels, Math.max(1, ...totals), height, title);
  labels.forEach((label, i) => {
    const x = left + i * groupW + groupW * 0.2, w = groupW * 0.6;
    let y = top + plotH;
    for (const p of parts) {
      const h = (p.values[i] / ceiling) * plotH;
      if (h > 0) {
        y -= h;
        svg.append(el("rect", { class: p.cls, x, y, width: w, height: h }, el("title", {}, `${label} ${p.name}: ${p.values[i]}`)));
      }
    }
    svg.append(el("text", { x: x + w / 2, y: height - 6, "text-anchor": "middle" }, label));
  });
  return svg;
}

export function legend(items) {
  return el("div", { class: "legend" }, items.map(([cls, name]) => el("span", {}, el("i", { class: cls }), name)));
}

function niceStep(max) {
  const raw = max / 4, pow = 10 ** Math.floor(Math.log10(raw || 1));
  const n = raw / pow;
  return Math.max(1, (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * pow);
}

// A panel's one-at-a-time action: runs step (an admin-API call), shows its error in message, then refresh.
export function oneAtATime(message, refresh) {
  let busy = false;
  return async step => {
    if (busy) return;
    busy = true;
    message.textContent = "";
    try { await step(); } catch (err) { message.textContent = err.message; } finally { busy = false; }
    await refresh();
  };
}
