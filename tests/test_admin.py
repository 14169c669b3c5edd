"""The events page (`/_pc/events.html`) in a real headless browser, served by `pixelscleared run`."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp

from conftest import chromium_browser, sidecar_config

LONG_MESSAGE = ("Invalid value for field properties.contents[0].content_id: expected a string of at most 50 "
                "characters; see https://business-api.tiktok.com/portal/docs?id=1771101303285761 for details")

# What does not fit: every column's right edge and the table's own width, against the window
# and the table's container (the page must need no horizontal scrolling to see a column).
MEASURE = """() => {
  const table = document.querySelector("table");
  const box = table.parentElement;
  return {
    viewport: document.documentElement.clientWidth,
    page: document.documentElement.scrollWidth,
    table: table.scrollWidth,
    box: box.clientWidth,
    rows: document.querySelectorAll("#rows tr").length,
    open: document.querySelectorAll("#rows details[open]").length,
    headers: [...table.querySelectorAll("th")].map(th => [th.textContent, th.getBoundingClientRect().right]),
    cells: Math.max(...[...table.querySelectorAll("td")].map(td => td.getBoundingClientRect().right)),
  };
}"""


async def settled_rows(url: str, want: int, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        while True:
            async with s.get(url + "/_pc/events") as r:
                rows = (await r.json())["events"]
            if len(rows) >= want and all(row["status"] in ("delivered", "dead") for row in rows):
                return rows
            if time.monotonic() > deadline:
                raise AssertionError(f"events not settled in time: {rows}")
            await asyncio.sleep(0.1)


async def test_events_page_fits_a_1280_wide_window(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url))
    cookie = {"Cookie": "cookieyes-consent=consent:yes,advertisement:yes; shop_session=abc",
              "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0"}
    async with aiohttp.ClientSession() as s:
        # delivered, with a long URL, scrubbed fields and a full payload
        async with s.post(sc.url + "/_pc/collect", headers=cookie, json={
                "event": "CompletePayment", "event_id": "order-2024-000123-a1b2c3d4e5f6a7b8c9d0",
                "url": "https://shop.example/checkout/thank-you?order=2024-000123&utm_source=newsletter"
                       "&utm_medium=email&utm_campaign=spring_sale_2024_with_a_very_long_campaign_name",
                "properties": {"value": "48.00", "currency": "eur", "email": "jane.doe@example.com",
                               "phone": "+44 7700 900123", "description": "x" * 300,
                               "contents": [{"content_id": f"sku-{i}", "quantity": 1, "price": 24} for i in range(5)]},
        }) as r:
            assert r.status == 204
        await settled_rows(sc.url, 1)
        # dead: TikTok's answer carries a long message without spaces to wrap at
        tiktok.set_control("code", code=40002, message=LONG_MESSAGE, times=1)
        async with s.post(sc.url + "/_pc/collect", headers=cookie,
                          json={"event": "ClickButton", "event_id": "click-" + "f" * 60}) as r:
            assert r.status == 204
    await settled_rows(sc.url, 2)

    async with chromium_browser() as chromium:
        page = await chromium.new_page(viewport={"width": 1280, "height": 800})
        await page.goto(sc.url + "/_pc/events.html")
        await page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
        shut = await page.evaluate(MEASURE)
        answers = await page.eval_on_selector_all("#rows td.answer", "tds => tds.map(td => td.innerText)")
        for summary in await page.query_selector_all("#rows summary"):
            await summary.click()
        opened = await page.evaluate(MEASURE)
        await page.screenshot(path=str(tmp_path / "events.png"), full_page=True)  # to look at on failure
        async with aiohttp.ClientSession() as s:  # a new row arrives: what the tester opened stays open
            async with s.post(sc.url + "/_pc/collect", json={"event": "PageView", "event_id": "late-1"}) as r:
                assert r.status == 204
        await page.wait_for_function("document.querySelectorAll('#rows tr').length === 3", timeout=10_000)
        refreshed = await page.evaluate(MEASURE)
    assert opened["open"] == 2 and refreshed["open"] == 2, refreshed
    # TikTok's answer reads as status, code and message (newest first), not as raw JSON
    assert answers[0].startswith("HTTP 200 · code 40002 Invalid value for field"), answers
    assert answers[1].startswith("HTTP 200 · code 0 OK\nrequest_id "), answers
    assert all('{"' not in a for a in answers), answers
    for m in (shut, opened, refreshed):
        assert m["page"] <= m["viewport"], m  # no horizontal scrolling
        assert m["table"] <= m["box"], m  # no column cut off inside its container either
        assert all(right <= m["viewport"] for _, right in m["headers"]), m["headers"]
        assert m["cells"] <= m["viewport"], m


async def test_events_page_filters_times_identity_and_the_trail_of_one_event(origin, tiktok, run_sidecar, tmp_path):
    sc = await run_sidecar(sidecar_config(tmp_path, origin.url, tiktok.url))
    granted = {"Cookie": "cookieyes-consent=consentid:abc,consent:yes,action:yes,necessary:yes,advertisement:yes",
               "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    async with aiohttp.ClientSession() as s:
        async with s.post(sc.url + "/_pc/collect", headers=granted, json={
                "event": "CompletePayment", "event_id": "trail-1", "url": "https://shop.example/thanks",
                "properties": {"value": 10, "currency": "EUR", "email": "jane@example.com"}}) as r:
            assert r.status == 204
        await settled_rows(sc.url, 1)
        tiktok.set_control("code", code=40002, message="Invalid value", times=1)
        async with s.post(sc.url + "/_pc/collect", json={"event": "ClickButton", "event_id": "trail-2",
                                                         "url": "https://other.example/x"}) as r:
            assert r.status == 204
    await settled_rows(sc.url, 2)
    async with chromium_browser() as chromium:
        page = await chromium.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(sc.url + "/_pc/events.html")
        await page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
        times = await page.eval_on_selector_all("#rows tr td:first-child", "tds => tds.map(td => td.innerText)")
        identity = await page.eval_on_selector_all("#rows td.identity", "tds => tds.map(td => td.innerText)")
        await page.click("#rows tr:last-child summary")  # the older row: the purchase
        trail = await page.inner_text("#rows tr:last-child ol.trail")
        await page.select_option("select[name=status]", "dead")
        await page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
        dead = await page.inner_text("#rows tr td:nth-child(4)")
        await page.select_option("select[name=status]", "")
        await page.fill("input[name=host]", "shop.example")
        # one row is also what the status filter left showing: wait for the host filter's own row
        await page.wait_for_function("document.querySelectorAll('#rows tr').length === 1"
                                     " && document.querySelector('#rows tr td:nth-child(4)').innerText !== 'trail-2'")
        by_host = await page.inner_text("#rows tr td:nth-child(4)")
        url = page.url
        await page.screenshot(path=str(tmp_path / "events-filters.png"), full_page=True)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d\n\d\d:\d\d:\d\dZ", t) for t in times), times
    assert "ip hashed" in identity[1] and "UA yes" in identity[1] and "LDU false" in identity[1], identity
    assert "captured by collect" in trail and "properties.email email" in trail and "consent: granted" in trail
    assert '"event_id": "trail-1"' in trail and "HTTP 200 · code 0" in trail
    assert dead == "trail-2" and by_host == "trail-1" and "host=shop.example" in url
