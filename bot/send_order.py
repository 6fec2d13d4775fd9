"""The order a send batch's calls go in: by recipient, each recipient's jobs in their chain order.

A recipient's messages go one after the other (a reply's text, then its card); different
recipients' go concurrently (``bot.send_batch``).
"""

from __future__ import annotations

from .send_attempt import Attempt


def by_recipient(attempts: list[Attempt]) -> list[list[Attempt]]:
    """Attempts grouped by who receives them, each group in the order of its chain; groups go concurrently.

    Mostly the batch's order is the outbox order already; but a job parked behind its predecessor (or
    retried) can come back into the stream ahead of it, so each group is put in ``after`` order: a
    job whose predecessor is in the group comes right after it.
    """
    groups: dict[str, list[Attempt]] = {}
    for a in attempts:
        groups.setdefault(a.job.psid or a.job.comment_id or a.job.id, []).append(a)
    return [_in_chain_order(group) for group in groups.values()]


def _in_chain_order(group: list[Attempt]) -> list[Attempt]:
    ids = {a.job.id for a in group}
    successors: dict[str, list[Attempt]] = {}
    heads: list[Attempt] = []
    for a in group:
        if a.after in ids and a.after != a.job.id:
            successors.setdefault(a.after, []).append(a)
        else:
            heads.append(a)
    ordered: list[Attempt] = []
    for head in heads:
        line = [head]
        while line:
            a = line.pop(0)
            ordered.append(a)
            line[:0] = successors.pop(a.job.id, [])
    for rest in successors.values():  # a cycle (never made by the outbox): keep the batch's order
        ordered += [a for a in rest if a not in ordered]
    return ordered
