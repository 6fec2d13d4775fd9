"""The dashboard's server-rendered HTML: the sign-in page and the shell that holds the panels.

No inline script or style (the Content-Security-Policy forbids both): the shell's
behaviour is ``static/dashboard.js``, which imports each panel's module.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from aiohttp import web

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")


def html_response(body: str, status: int = 200) -> web.Response:
    """An HTML page that is never cached, framed or given a referrer."""
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _head(title: str, extra: str = "") -> str:
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n"
            "<link rel=\"icon\" href=\"data:,\">\n"
            "<link rel=\"stylesheet\" href=\"/dashboard/static/dashboard.css\">\n"
            f"{extra}</head>\n")


def sign_in_page(*, error: str = "", sandbox: bool) -> str:
    """The sign-in form; ``error`` is shown above it (a wrong token, a refused request)."""
    hint = ("Sandbox mode: <code>salebell serve</code> prints the admin token when it starts and keeps it in "
            "<code>.salebell/admin-token</code>." if sandbox else
            "The admin token is the deployment's <code>ADMIN_TOKEN</code>.")
    alert = f"<p class=\"alert\" role=\"alert\">{escape(error)}</p>\n" if error else ""
    return (_head("Sign in · salebell dashboard") +
            "<body class=\"signin\">\n<main class=\"card narrow\">\n<h1>salebell</h1>\n"
            "<p>Sign in to run live sales, read the numbers and send blasts.</p>\n" + alert +
            "<form method=\"post\" action=\"/dashboard/sign-in\" class=\"stack\">\n"
            "<label for=\"token\">Admin token</label>\n"
            "<input id=\"token\" type=\"password\" name=\"token\" autocomplete=\"current-password\" required "
            "autofocus maxlength=\"512\">\n"
            "<button type=\"submit\">Sign in</button>\n</form>\n"
            f"<p class=\"hint\">{hint}</p>\n</main>\n</body>\n</html>\n")


def shell_page(*, csrf: str, page_id: str, page_ids: Sequence[str], timezone: str, sandbox: bool,
               sections: list[tuple[str, str, str, str]]) -> str:
    """The signed-in dashboard of ``page_id``: navigation, one section per panel, and a link to each other
    Page served (``page_ids``).

    ``sections``: ``(id, title, module URL or "", inner HTML)`` in navigation order.
    """
    others = "".join(f" · <a href=\"/dashboard/?page={escape(p)}\">Page {escape(p)}</a>" for p in page_ids
                     if p != page_id)
    nav = "".join(f"<a href=\"#{escape(pid)}\" data-tab=\"{escape(pid)}\">{escape(title)}</a>"
                  for pid, title, _, _ in sections)
    body = []
    for pid, title, module, inner in sections:
        module_attr = f" data-module=\"{escape(module)}\"" if module else ""
        body.append(f"<section id=\"{escape(pid)}\" class=\"panel\" data-panel=\"{escape(pid)}\"{module_attr}>\n"
                    f"<h2>{escape(title)}</h2>\n<div class=\"panel-body\">{inner}</div>\n</section>")
    mode = "sandbox" if sandbox else "production"
    meta = (f"<meta name=\"csrf-token\" content=\"{escape(csrf)}\">\n"
            f"<meta name=\"shop-timezone\" content=\"{escape(timezone)}\">\n"
            f"<meta name=\"page-id\" content=\"{escape(page_id)}\">\n"
            "<script type=\"module\" src=\"/dashboard/static/dashboard.js\"></script>\n")
    return (_head("salebell dashboard", meta) +
            "<body>\n<header class=\"top\">\n<strong class=\"brand\">salebell</strong>\n"
            f"<span class=\"where\">Page {escape(page_id)} · {mode} · times in {escape(timezone)}{others}</span>\n"
            "<form method=\"post\" action=\"/dashboard/sign-out\" class=\"signout\">"
            f"<input type=\"hidden\" name=\"csrf\" value=\"{escape(csrf)}\">"
            "<button type=\"submit\">Sign out</button></form>\n</header>\n"
            f"<nav class=\"tabs\" aria-label=\"Panels\">{nav}</nav>\n"
            "<noscript><p class=\"alert\">JavaScript is off: the live-sale list below is complete, the other "
            "panels need JavaScript (or use the admin API under <code>/api/</code>).</p></noscript>\n"
            "<main id=\"panels\">\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def message_page(title: str, message: str, status: int) -> web.Response:
    """A short page for a refusal (a wrong CSRF token on sign-out, Redis unavailable)."""
    return html_response(_head(f"{title} · salebell") + "<body class=\"signin\">\n<main class=\"card narrow\">\n"
                         f"<h1>{escape(title)}</h1>\n<p class=\"alert\" role=\"alert\">{escape(message)}</p>\n"
                         "<p><a href=\"/dashboard/\">Back to the dashboard</a></p>\n</main>\n</body>\n</html>\n",
                         status)
