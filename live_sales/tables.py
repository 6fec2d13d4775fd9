"""Plain-text rendering for the CLI: aligned tables, a campaign's numbers, the 7-day stats, a progress bar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BAR_WIDTH = 30


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns sized to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], int) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric)).rstrip()

    return "\n".join([line(cells[0]), line(["-" * w for w in widths]), *(line(r) for r in cells[1:])])


def reasons(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in counts.items()) or "none"


def campaign(view: Mapping[str, Any]) -> str:
    """A sale's or blast's fan-out state and numbers, with skip and failure reasons."""
    n, fanout = view["numbers"], view["fanout"]
    columns = ("eligible", "queued", "sent", "delivered", "read", "skipped_total", "failed_total", "pending")
    lines = [f"fan-out: {fanout['state']}" + (" (complete)" if fanout.get("complete") else ""),
             table([c.replace("_total", "") for c in columns], [[n.get(c, 0) for c in columns]])]
    if n["skipped"]:
        lines.append(f"skipped: {reasons(n['skipped'])}")
    if n["failed"]:
        lines.append(f"failed:  {reasons(n['failed'])}")
    return "\n".join(lines)


def sale(view: Mapping[str, Any]) -> str:
    head = [f"{view['id']}  {view['title']}  [{view['status']}]",
            f"url:       {view['url'] or '-'}",
            f"topic:     {view['topic']}",
            f"scheduled: {view['scheduled_at'] or '-'}"]
    if view.get("started_at"):
        head.append(f"started:   {view['started_at']} by {view['started_by']}")
    if view.get("ended_at"):
        head.append(f"ended:     {view['ended_at']}")
    if view.get("video_id"):
        head.append(f"video:     {view['video_id']}")
    if view.get("post_ids"):
        head.append(f"posts:     {', '.join(view['post_ids'])}")
    if view.get("products"):
        head.append(f"products:  {', '.join(view['products'])}")
    return "\n".join(head + [campaign(view)] + ([claims(view["claims"])] if view.get("claims", {}).get("comments")
                                                else []))


def claims(n: Mapping[str, Any]) -> str:
    """A sale's claim numbers: the steps, releases and unanswered claims with their reasons."""
    columns = ("comments", "claimed", "waitlisted", "promoted", "released_total", "paid", "cancelled", "duplicates")
    lines = ["claims:", table([c.replace("_total", "") for c in columns], [[n.get(c, 0) for c in columns]])]
    if n["released"]:
        lines.append(f"released:   {reasons(n['released'])}")
    answers = n["answers"]
    lines.append(f"answers:    sent {answers['sent']} of {answers['queued']}, pending {answers['pending']}"
                 + (f", asked which variant {n['asked_variant']}" if n.get("asked_variant") else ""))
    if n["unanswered"]:
        lines.append(f"unanswered: {reasons(n['unanswered'])}")
    return "\n".join(lines)


def sales(views: Sequence[Mapping[str, Any]]) -> str:
    rows = [[v["id"], v["status"], v["scheduled_at"] or "-", v["numbers"]["sent"], v["numbers"]["pending"],
             v["title"]] for v in views]
    return table(["id", "status", "scheduled", "sent", "pending", "title"], rows) if rows else "no live sales"


def broadcast(view: Mapping[str, Any]) -> str:
    return "\n".join([f"{view['id']}  topic {view['topic']}  created {view['created_at']}",
                      f"text: {view['text']}", campaign(view)])


def stats(answer: Mapping[str, Any]) -> str:
    """The last days: one row a day, totals, and the failure/skip reasons and warnings below."""
    columns = ("sent", "delivered", "read", "failed_total", "skipped_total", "never_opted_in")
    rows = [[d["day"], *(d[c] for c in columns)] for d in answer["days"]]
    totals = answer["totals"]
    rows.append(["total", *(totals[c] for c in columns)])
    lines = [table(["day", "sent", "delivered", "read", "failed", "skipped", "never opted in"], rows),
             f"failed:  {reasons(totals['failed'])}", f"skipped: {reasons(totals['skipped'])}"]
    lines += [f"warning: {w}" for w in answer.get("warnings", ())]
    return "\n".join(lines)


def progress(view: Mapping[str, Any]) -> str:
    """``[#####-----]  120/300  sent 100  skipped 20  failed 0  (queuing)``."""
    n, fanout = view["numbers"], view["fanout"]
    total = max(n.get("eligible", 0), n["queued"], 1)
    filled = int(BAR_WIDTH * min(n["done"], total) / total)
    state = "queuing" if fanout["state"] == "running" else "sending" if n["pending"] else fanout["state"]
    return (f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {n['done']:>7}/{total:<7} sent {n['sent']}  "
            f"skipped {n['skipped_total']}  failed {n['failed_total']}  ({state})")
