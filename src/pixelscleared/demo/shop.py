"""The demo shop: the origin the sidecar stands in front of in `pixelscleared demo`.

It behaves like a small real site: an HttpOnly `shop_session` cookie keys the cart, the
checkout asks for real-looking personal data, and a CookieYes-format banner records consent.
Its pages send the site's own first-party tracking calls to `/_pc/collect` — a path only the
sidecar answers — so the demo shows what the sidecar scrubs, what consent allows and what
TikTok receives. Every page works without JavaScript (forms are plain POSTs); only the
tracking calls need it. State lives in memory and is bounded.
"""

from __future__ import annotations

import re
import secrets
import struct
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import jinja2
from aiohttp import web
from aiohttp.typedefs import Handler

SESSION_COOKIE = "shop_session"
CONSENT_COOKIE = "cookieyes-consent"
CURRENCY = "EUR"
COLLECT_PATH = "/_pc/collect"
MAX_SESSIONS = 10_000  # oldest carts are forgotten beyond this: memory stays bounded
MAX_ORDERS = 10_000
MAX_QUANTITY = 99
MAX_FIELD = 200
MAX_MESSAGE = 2_000
ONE_YEAR_S = 365 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")  # what our session and consent ids look like

# The demo fills the forms with a made-up person so the data the sidecar strips is realistic.
DEMO_PERSON = {
    "name": "Anna Schmidt",
    "email": "anna.schmidt@example.com",
    "phone": "+49 151 23456789",
    "address": "Hauptstraße 12, 10115 Berlin",
}


@dataclass(frozen=True)
class Product:
    id: str  # a string: TikTok warns about numeric content_id
    name: str
    price: Decimal
    blurb: str
    hue: int  # colour of the product tile

    def content(self, quantity: int) -> dict[str, Any]:
        """One `contents[]` entry as the TikTok Events API expects it."""
        return {"content_id": self.id, "content_name": self.name, "price": float(self.price), "quantity": quantity}


CATALOGUE: dict[str, Product] = {p.id: p for p in [
    Product("1001", "Linen Tote Bag", Decimal("24.00"), "Sturdy natural linen, long handles.", 32),
    Product("1002", "Ceramic Mug", Decimal("14.50"), "Hand-glazed stoneware, 350 ml.", 200),
    Product("1003", "Merino Beanie", Decimal("29.90"), "Soft, warm, no itch.", 350),
    Product("1004", "Dotted Notebook A5", Decimal("9.95"), "120 pages of 100 g/m² paper.", 140),
    Product("1005", "Bamboo Socks (3 pairs)", Decimal("12.00"), "Breathable everyday socks.", 260),
    Product("1006", "Enamel Pin Set", Decimal("8.50"), "Three pins for your tote.", 10),
]}


@dataclass
class Order:
    id: str
    lines: list[tuple[Product, int]]
    total: Decimal

    def contents(self) -> list[dict[str, Any]]:
        return [p.content(q) for p, q in self.lines]


@dataclass
class ShopState:
    """In-memory carts (by session) and orders, each capped at a fixed size."""

    carts: OrderedDict[str, dict[str, int]] = field(default_factory=OrderedDict)
    orders: OrderedDict[str, Order] = field(default_factory=OrderedDict)

    def cart(self, session: str) -> dict[str, int]:
        cart = self.carts.setdefault(session, {})
        self.carts.move_to_end(session)
        while len(self.carts) > MAX_SESSIONS:
            self.carts.popitem(last=False)
        return cart

    def add_order(self, order: Order) -> None:
        self.orders[order.id] = order
        while len(self.orders) > MAX_ORDERS:
            self.orders.popitem(last=False)


STATE = web.AppKey("state", ShopState)
TAGGED = web.AppKey("tagged", bool)
SESSION = web.RequestKey("session", str)


def cart_lines(cart: dict[str, int]) -> tuple[list[tuple[Product, int]], Decimal]:
    lines = [(CATALOGUE[pid], q) for pid, q in cart.items() if pid in CATALOGUE]
    return lines, sum((p.price * q for p, q in lines), Decimal("0"))


def item_count(lines: Any) -> int:
    """Items, not lines: two mugs are 2 items. Every page counts the same way, so they agree."""
    return sum(q for _, q in lines)


def items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def consent_cookie_value(choice: Literal["accept", "reject"], consent_id: str | None = None) -> str:
    """CookieYes' own `cookieyes-consent` format, so the sidecar reads a real CMP cookie."""
    yes = choice == "accept"
    fields = {
        "consentid": consent_id or secrets.token_urlsafe(24),
        "consent": "yes" if yes else "no",
        "action": "yes",
        "necessary": "yes",
        "functional": "no",
        "analytics": "no",
        "performance": "no",
        "advertisement": "yes" if yes else "no",
    }
    return ",".join(f"{k}:{v}" for k, v in fields.items())


def parse_consent_cookie(value: str | None) -> dict[str, str]:
    """The `key:value` pairs of a CookieYes cookie; anything unreadable is simply absent."""
    out: dict[str, str] = {}
    for part in (value or "")[:2000].split(","):
        key, sep, val = part.partition(":")
        if sep:
            out[key.strip()] = val.strip()
    return out


def money(value: Decimal) -> str:
    return f"€{value:.2f}"


def safe_next(path: str | None) -> str:
    """Only a local path: the consent form must not become an open redirect."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 500:
        return "/"
    return path


class FormError(ValueError):
    """A form field is missing or too long; the message names the field, never its value."""


def form_field(form: Any, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise FormError(f"{name} must be text")
    value = value.strip()
    if not value:
        raise FormError(f"{name} is required")
    if len(value) > limit:
        raise FormError(f"{name} is longer than {limit} characters")
    return value


# --- rendering -------------------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("pixelscleared.demo", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
)
_env.filters["money"] = money
_env.filters["items"] = items
_env.globals["item_count"] = item_count


def _static(name: str) -> str:
    from importlib.resources import files

    return (files("pixelscleared.demo") / "static" / name).read_text(encoding="utf-8")


_CSS = _static("shop.css")
_TRACK_JS = _static("track.js")
_FAVICON_SVG = _static("favicon.svg")


def favicon_ico(size: int = 16, rgb: tuple[int, int, int] = (0x0F, 0x76, 0x6E)) -> bytes:
    """A one-colour .ico (32-bit BMP inside), for browsers that ask /favicon.ico whatever the page says."""
    pixels = bytes((rgb[2], rgb[1], rgb[0], 255)) * (size * size)  # BGRA, bottom-up; one colour
    mask = bytes(((size + 31) // 32) * 4 * size)  # AND mask: all opaque
    dib = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, len(pixels) + len(mask), 0, 0, 0, 0)
    image = dib + pixels + mask
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), 22) + image


_FAVICON_ICO = favicon_ico()
ASSET_PATHS = frozenset({"/favicon.ico", "/favicon.svg"})  # no session cookie: not a page visit


def render(request: web.Request, template: str, *, status: int = 200,
           events: list[dict[str, Any]] | None = None, **ctx: Any) -> web.Response:
    """A page with the shop's layout, its consent banner and its first-party tracking calls."""
    consent = parse_consent_cookie(request.cookies.get(CONSENT_COOKIE)).get("consent")
    session = request.get(SESSION, "")
    cart = request.app[STATE].carts.get(session, {}) if session else {}
    html = _env.get_template(template).render(
        css=_CSS,
        track_js=_TRACK_JS,
        tag=request.app[TAGGED],  # False: the no-code demo, a shop without any tracking script
        collect_path=COLLECT_PATH,
        # Pageview on every page, then the page's own events.
        events=[{"event": "Pageview", "properties": {}}] + (events or []),
        consent=consent if consent in ("yes", "no") else None,  # None: no choice yet, the banner asks
        cart_count=item_count(cart.items()),
        here=request.path_qs,
        **ctx,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


# --- handlers --------------------------------------------------------------------------------

async def read_form(request: web.Request) -> Any:
    """The posted form; a body that is not a form is a 400, not a crash."""
    try:
        return await request.post()
    except ValueError as e:  # aiohttp's multipart/urlencoded parsers raise ValueError on garbage
        raise web.HTTPBadRequest(text="the form could not be read") from e


def _cart(request: web.Request) -> dict[str, int]:
    return request.app[STATE].cart(request[SESSION])


async def home(request: web.Request) -> web.Response:
    return render(request, "home.html", title="Shop", products=list(CATALOGUE.values()))


async def product(request: web.Request) -> web.Response:
    p = CATALOGUE.get(request.match_info["pid"])
    if p is None:
        raise web.HTTPNotFound()
    return render(request, "product.html", title=p.name, product=p, click=_click_button(p, 1))


def _click_button(p: Product, quantity: int) -> dict[str, Any]:
    """The ClickButton call the add-to-cart button sends (its props go out with the form)."""
    return {"event": "ClickButton", "properties": {
        "contents": [p.content(quantity)], "currency": CURRENCY, "value": float(p.price * quantity),
        "description": "add to cart"}}


async def cart_add(request: web.Request) -> web.Response:
    form = await read_form(request)
    p = CATALOGUE.get(str(form.get("product_id", "")))
    if p is None:
        raise web.HTTPNotFound()
    try:
        qty = int(str(form.get("quantity", "1")))
    except ValueError:
        raise web.HTTPBadRequest(text="quantity must be a whole number") from None
    if not 1 <= qty <= MAX_QUANTITY:
        raise web.HTTPBadRequest(text=f"quantity must be between 1 and {MAX_QUANTITY}")
    cart = _cart(request)
    cart[p.id] = min(cart.get(p.id, 0) + qty, MAX_QUANTITY)
    raise web.HTTPSeeOther("/cart")


async def cart_remove(request: web.Request) -> web.Response:
    form = await read_form(request)
    _cart(request).pop(str(form.get("product_id", "")), None)
    raise web.HTTPSeeOther("/cart")


async def cart_page(request: web.Request) -> web.Response:
    lines, total = cart_lines(_cart(request))
    return render(request, "cart.html", title="Your cart", lines=lines, total=total)


async def checkout_page(request: web.Request) -> web.Response:
    lines, total = cart_lines(_cart(request))
    if not lines:
        raise web.HTTPSeeOther("/cart")
    return render(request, "checkout.html", title="Checkout", lines=lines, total=total,
                  values=DEMO_PERSON, error=None)


async def checkout_submit(request: web.Request) -> web.Response:
    cart = _cart(request)
    lines, total = cart_lines(cart)
    if not lines:
        raise web.HTTPSeeOther("/cart")
    form = await read_form(request)
    try:
        for name in ("name", "email", "phone", "address"):
            form_field(form, name)
    except FormError as e:
        values = {k: str(form.get(k, ""))[:MAX_FIELD] for k in DEMO_PERSON}
        return render(request, "checkout.html", status=400, title="Checkout", lines=lines, total=total,
                      values=values, error=str(e))
    order = Order(id="ORD-" + secrets.token_hex(5).upper(), lines=lines, total=total)
    request.app[STATE].add_order(order)
    cart.clear()
    raise web.HTTPSeeOther(f"/checkout/thank-you?order={quote(order.id)}")


async def thank_you(request: web.Request) -> web.Response:
    order = request.app[STATE].orders.get(request.query.get("order", ""))
    if order is None:
        raise web.HTTPNotFound()
    payment = {"event": "CompletePayment", "properties": {
        "value": float(order.total), "currency": CURRENCY, "order_id": order.id,
        "contents": order.contents(), "content_type": "product"}}
    return render(request, "thank_you.html", title="Thank you", order=order, events=[payment])


async def contact_page(request: web.Request) -> web.Response:
    return render(request, "contact.html", title="Contact", values={**DEMO_PERSON, "message": (
        f"Hi, do you ship to Austria? Call me on {DEMO_PERSON['phone']} or write to {DEMO_PERSON['email']}.")},
        error=None)


async def contact_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    try:
        form_field(form, "name")
        form_field(form, "email")
        form_field(form, "message", MAX_MESSAGE)
    except FormError as e:
        values = {k: str(form.get(k, ""))[:MAX_MESSAGE] for k in ("name", "email", "message")}
        return render(request, "contact.html", status=400, title="Contact", values=values, error=str(e))
    raise web.HTTPSeeOther("/contact/thanks")


async def contact_thanks(request: web.Request) -> web.Response:
    return render(request, "contact_thanks.html", title="Thanks",
                  events=[{"event": "Contact", "properties": {"description": "contact form"}}])


async def consent_page(request: web.Request) -> web.Response:
    return render(request, "consent.html", title="Cookie settings",
                  next=safe_next(request.query.get("next")))


async def consent_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    choice = form.get("choice")
    if choice not in ("accept", "reject"):
        raise web.HTTPBadRequest(text="choice must be accept or reject")
    previous = parse_consent_cookie(request.cookies.get(CONSENT_COOKIE)).get("consentid", "")
    consent_id = previous if _TOKEN.fullmatch(previous) else None
    resp = web.HTTPSeeOther(safe_next(str(form.get("next", "/"))))
    # Written as CookieYes writes it (raw commas and colons, readable by page scripts), which
    # http.cookies would quote: set the header directly.
    resp.headers.add("Set-Cookie", f"{CONSENT_COOKIE}={consent_cookie_value(choice, consent_id)}; "
                                   f"Path=/; Max-Age={ONE_YEAR_S}; SameSite=Lax")
    raise resp


async def favicon(request: web.Request) -> web.Response:
    """The tab icon; without it every page view also logs a /favicon.ico 404."""
    headers = {"Cache-Control": "public, max-age=86400"}
    if request.path == "/favicon.svg":
        return web.Response(text=_FAVICON_SVG, content_type="image/svg+xml", headers=headers)
    return web.Response(body=_FAVICON_ICO, content_type="image/x-icon", headers=headers)


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every visitor gets a random HttpOnly session cookie (the sidecar hashes it for external_id)."""
    if request.path in ASSET_PATHS:  # fetched beside the first page: a second cookie would race it
        return await handler(request)
    session = request.cookies.get(SESSION_COOKIE, "")
    fresh = not _TOKEN.fullmatch(session)
    if fresh:
        session = secrets.token_urlsafe(24)
    request[SESSION] = session
    try:
        resp = await handler(request)
    except web.HTTPNotFound:
        resp = render(request, "not_found.html", status=404, title="Not found")
    except web.HTTPException as e:
        if e.status < 400:  # redirects: keep the Location, add the cookie
            if fresh:
                e.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")
            raise
        resp = render(request, "error.html", status=e.status, title="Sorry", message=e.text or e.reason)
    if fresh:
        resp.set_cookie(SESSION_COOKIE, session, path="/", httponly=True, samesite="Lax")
    return resp


def make_shop_app(tag: bool = True) -> web.Application:
    app = web.Application(middlewares=[session_middleware], client_max_size=64 * 1024)
    app[STATE] = ShopState()
    app[TAGGED] = tag
    app.add_routes([
        web.get("/", home),
        web.get("/product/{pid}", product),
        web.get("/cart", cart_page),
        web.post("/cart/add", cart_add),
        web.post("/cart/remove", cart_remove),
        web.get("/checkout", checkout_page),
        web.post("/checkout", checkout_submit),
        web.get("/checkout/thank-you", thank_you),
        web.get("/contact", contact_page),
        web.post("/contact", contact_submit),
        web.get("/contact/thanks", contact_thanks),
        web.get("/consent", consent_page),
        web.post("/consent", consent_submit),
        web.get("/favicon.ico", favicon),
        web.get("/favicon.svg", favicon),
    ])
    return app


@dataclass
class ShopServer:
    url: str
    runner: web.AppRunner

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_shop(host: str = "127.0.0.1", port: int = 0, tag: bool = True) -> ShopServer:
    """Serve the shop on host:port (0 = ephemeral); `await shop.close()` stops it."""
    runner = web.AppRunner(make_shop_app(tag), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    sock = site._server.sockets[0]  # type: ignore[union-attr]  # the real port when port=0
    bound = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{shown}]" if ":" in shown else shown
    return ShopServer(url=f"http://{shown}:{bound}", runner=runner)
