"""The dashboard's routes that every page shares: logging in and out, the static files, the
security headers, and what happens when a viewer is not logged in or not allowed.

Each page lives in its own module beside this one (``issues``, ...), with a ``router``; ``mount``
wires them all into the application.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from oomlens.server.core.deps import SessionDep
from oomlens.server.web import sessions
from oomlens.server.web.render import page

STATIC = Path(__file__).parent / "static"
# Scripts and styles come from /static only: a class name that slipped through escaping could not
# run anyway. htmx is told not to add inline styles or evaluate code (base.html).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; "
                           "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; form-action 'self'; object-src 'none'")

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login link must not send people elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or \
            urlsplit(target).netloc:
        return "/"
    return target


@router.get("/login")
def login_form(next: str | None = None):
    return page("login.html", viewer=None, next=_safe_next(next), error=None)


@router.post("/login")
def login(request: Request, s: SessionDep, key: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/"):
    opened = sessions.open_session(s, key.strip())
    if opened is None:
        return page("login.html", status=401, viewer=None, next=_safe_next(next),
                    error="That is not a valid read or admin key of a project.")
    token, _ = opened
    answer = RedirectResponse(_safe_next(next), status_code=303)
    answer.set_cookie(sessions.COOKIE, token, max_age=int(sessions.LIFETIME.total_seconds()),
                      httponly=True, samesite="lax", secure=request.url.scheme == "https",
                      path="/")
    return answer


@router.post("/logout")
def logout(request: Request, s: SessionDep):
    sessions.close_session(s, request.cookies.get(sessions.COOKIE))
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(sessions.COOKIE, path="/")
    return answer


@router.get("/")
def home(v: sessions.ViewerDep):
    return RedirectResponse("/overview", status_code=303)


def _login_required(request: Request, _exc) -> Response:
    target = "/login?next=" + quote(request.url.path +
                                    (f"?{request.url.query}" if request.url.query else ""))
    if request.headers.get("hx-request"):  # htmx: have the whole page go, not a fragment
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method != "GET":
        return Response("log in first", status_code=401)
    return RedirectResponse(target, status_code=303)


def _forbidden(_request: Request, exc: sessions.Forbidden) -> Response:
    return page("error.html", status=403, viewer=None, title="Not allowed", message=str(exc))


async def _security_headers(request: Request, call_next):
    if request.method == "POST" and not request.url.path.startswith("/api/") and \
            not _same_origin(request):
        # forms are posted by this site's pages only (login and logout included, which carry
        # no CSRF token: a session does not exist yet, or is being thrown away)
        return page("error.html", status=403, viewer=None, title="Not allowed",
                    message="This form was sent from another site.")
    answer = await call_next(request)
    if answer.headers.get("content-type", "").startswith("text/html"):
        answer.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        answer.headers.setdefault("X-Content-Type-Options", "nosniff")
        answer.headers.setdefault("Referrer-Policy", "same-origin")
        answer.headers.setdefault("Cache-Control", "no-store")
    return answer


def _same_origin(request: Request) -> bool:
    """No Origin header (old browsers, scripts) or one naming this host."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def mount(app: FastAPI, routers: list[APIRouter]) -> None:
    """Add the dashboard to ``app``: the shared routes, each page's router, /static."""
    app.include_router(router)
    for page_router in routers:
        app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(sessions.LoginRequired, _login_required)
    app.add_exception_handler(sessions.Forbidden, _forbidden)
    app.middleware("http")(_security_headers)
