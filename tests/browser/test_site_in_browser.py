"""The built site in a real headless Chromium, as a reader uses it.

Every page renders with no console error, every image and figure loads, and no request
leaves 127.0.0.1. Search finds the autograd pages, the light/dark toggle works, and a
copy button puts code on the clipboard that runs as it is.

The browser is Debian's ``chromium`` (no test tool downloads its own). Without it these
tests skip and say how to enable them; CI installs it (.ci/run).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium: install Debian's package (apt-get install chromium) to run the "
        "browser tests; .ci/run installs it",
        allow_module_level=True,
    )

from playwright.async_api import BrowserContext as AsyncBrowserContext  # noqa: E402
from playwright.async_api import ConsoleMessage as AsyncConsoleMessage  # noqa: E402
from playwright.async_api import Request as AsyncRequest  # noqa: E402
from playwright.async_api import TimeoutError as AsyncTimeoutError  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.site

#: Chromium's own background services would try to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: How a reader searches each build: what to click, where to type, what lists the results.
#: Zensical's search is a dialog of its own, its input in a shadow root.
SEARCH_UI = {
    "mkdocs": (".md-search__input", ".md-search__input", ".md-search-result__item a"),
    "zensical": (".md-search__button", "input[role=combobox]", "a[role=option]"),
}


class Built(NamedTuple):
    builder: str
    site: Path


@pytest.fixture(scope="module", params=list(SEARCH_UI))
def built(request: pytest.FixtureRequest) -> Built:
    """The site as each builder builds it: every test here runs on both."""
    fixture = "site" if request.param == "mkdocs" else "zensical_site"
    return Built(request.param, Path(request.getfixturevalue(fixture)))


@contextlib.contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A local web server of ``folder``; its root URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def base_url(built: Built) -> Iterator[str]:
    with serving(built.site) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def page_urls(site: Path) -> list[str]:
    """Every page of the built site, as a path below the root."""
    paths = []
    for html in sorted(site.rglob("index.html")):
        relative = html.parent.relative_to(site)
        if relative.parts and relative.parts[0] in ("assets", "search"):
            continue
        paths.append("/" if str(relative) == "." else f"/{relative}/")
    return paths


#: How many figures on the page have no picture, or one that takes up no room.
_EMPTY_FIGURES = (
    "[...document.querySelectorAll('figure.tensorkit-figure')]"
    ".filter(f => !f.querySelector('svg') || f.querySelector('svg').getBBox().width === 0)"
    ".length"
)
FIGURE_WAIT_MS = 5_000


async def check_page(context: AsyncBrowserContext, url: str) -> list[str]:
    """Open one page; return what went wrong: console errors, foreign requests, broken media."""
    page = await context.new_page()
    errors: list[str] = []
    foreign: list[str] = []

    def on_console(message: AsyncConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_request(request: AsyncRequest) -> None:
        if urlparse(request.url).scheme not in ("data", "blob") and (
            urlparse(request.url).hostname != "127.0.0.1"
        ):
            foreign.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", on_request)
    response = await page.goto(url, wait_until="networkidle")
    problems = [] if response is not None and response.ok else [f"{url}: not served"]
    broken_images = await page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    # A busy machine may lay a figure out after the network went quiet: wait a while.
    with contextlib.suppress(AsyncTimeoutError):
        await page.wait_for_function(f"{_EMPTY_FIGURES} === 0", timeout=FIGURE_WAIT_MS)
    empty_figures = await page.evaluate(_EMPTY_FIGURES)
    await page.close()
    problems += [f"{url}: console: {error}" for error in errors]
    problems += [f"{url}: request to another host: {foreign_url}" for foreign_url in foreign]
    problems += [f"{url}: image did not load: {src}" for src in broken_images]
    if empty_figures:
        problems.append(f"{url}: {empty_figures} figure(s) drew nothing")
    return problems


def check_pages(urls: list[str], at_once: int = 4) -> list[str]:
    """`check_page` for every URL, ``at_once`` tabs at a time, in a browser of its own.

    A page spends most of its time waiting for the network to go quiet, so four tabs
    check the site in about 40% of the time one does. The tabs share one browser context,
    as a reader's tabs share a browser's cache: each stylesheet and script is fetched and
    compiled once, not once a page, which takes a third off the check of both editions. A
    request that fails is never cached, so each page that makes one is still reported.
    Playwright's asynchronous API runs in a thread of its own: the synchronous one of the
    other tests holds this thread.
    """

    async def check_all() -> list[list[str]]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            context = await browser.new_context()
            slots = asyncio.Semaphore(at_once)

            async def checked(url: str) -> list[str]:
                async with slots:
                    return await check_page(context, url)

            found = await asyncio.gather(*(checked(url) for url in urls))
            await browser.close()
            return found

    with ThreadPoolExecutor(max_workers=1) as thread:
        return [
            problem
            for problems in thread.submit(asyncio.run, check_all()).result()
            for problem in problems
        ]


def test_every_page_renders_loads_everything_and_stays_local(built: Built, base_url: str) -> None:
    paths = page_urls(built.site)
    assert len(paths) >= 3
    problems = check_pages([base_url + path for path in paths])
    assert not problems, "\n".join(problems)


BROKEN_PAGE = """<!doctype html><html><body>
<img src="http://example.invalid/logo.png">
<img src="missing.png">
<img src="/missing-everywhere.png">
<figure class="tensorkit-figure"></figure>
<script>console.error("a script failed")</script>
</body></html>
"""
#: With an icon of its own: the browser would otherwise ask for /favicon.ico, which 404s.
FINE_PAGE = '<!doctype html><html><head><link rel="icon" href="data:,"></head><p>Fine.</p>'


def test_a_broken_page_is_reported_with_each_problem(tmp_path: Path) -> None:
    # Two broken pages that ask for the same foreign and missing files, one after the
    # other: the tabs share a cache, and each page must still be reported.
    for name in ("broken", "broken-too"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(BROKEN_PAGE, encoding="utf-8")
    (tmp_path / "fine").mkdir()
    (tmp_path / "fine" / "index.html").write_text(FINE_PAGE, encoding="utf-8")
    pages = ["broken", "fine", "gone", "broken-too"]
    with serving(tmp_path) as base:
        problems = check_pages([f"{base}/{name}/" for name in pages], at_once=1)
    text = "\n".join(problems)
    for broken in (f"{base}/broken/", f"{base}/broken-too/"):
        assert f"{broken}: request to another host: http://example.invalid/logo.png" in text
        assert f"{broken}: image did not load: {broken}missing.png" in text
        assert f"{broken}: image did not load: {base}/missing-everywhere.png" in text
        assert f"{broken}: 1 figure(s) drew nothing" in text
        assert f"{broken}: console: a script failed" in text
    assert f"{base}/gone/: not served" in text
    assert f"{base}/fine/" not in text


def test_search_for_jacobian_finds_the_autograd_pages(
    built: Built, base_url: str, browser: Browser
) -> None:
    opens, field, results = SEARCH_UI[built.builder]
    page = browser.new_page()
    page.goto(base_url + "/", wait_until="networkidle")
    # Both search on key events, so type as a reader would.
    page.click(opens)
    page.locator(field).press_sequentially("jacobian", delay=30)
    page.locator(results).first.wait_for(timeout=15_000)
    found = page.locator(results)
    links = [found.nth(i).get_attribute("href") or "" for i in range(found.count())]
    page.close()
    assert any("autograd/" in link for link in links), links
    # The English edition searches English pages only: Chinese ones use the word too.
    assert not [link for link in links if "/zh/" in link], links


@pytest.mark.parametrize(
    ("term", "page_url"),
    [("雅可比矩阵", "zh/autograd/jacobian/"), ("广播", "zh/tensors/arithmetic/")],
)
def test_search_in_the_chinese_edition_finds_a_chinese_term(
    site: Path, browser: Browser, term: str, page_url: str
) -> None:
    # Only MkDocs builds the Chinese edition (zensical.yml); jieba cut its words apart.
    opens, field, results = SEARCH_UI["mkdocs"]
    with serving(site) as base:
        page = browser.new_page()
        page.goto(f"{base}/zh/", wait_until="networkidle")
        page.click(opens)
        page.locator(field).press_sequentially(term, delay=30)
        # Typed Chinese arrives as text input with no key event, which starts a search.
        page.locator(field).press("End")
        page.locator(results).first.wait_for(timeout=15_000)
        found = page.locator(results)
        links = [found.nth(i).get_attribute("href") or "" for i in range(found.count())]
        page.close()
    assert any(page_url in link for link in links), links
    # The Chinese edition searches its own pages (harness/search_languages.py).
    assert all(f"{base}/zh/" in link for link in links), links


def test_light_dark_toggle_switches_the_scheme(base_url: str, browser: Browser) -> None:
    page = browser.new_page(color_scheme="light")
    page.goto(base_url + "/", wait_until="networkidle")
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    assert page.evaluate(scheme) == "default"
    page.click("label[title='Switch to dark mode']")
    assert page.evaluate(scheme) == "slate"
    page.click("label[title='Switch to light mode']")
    assert page.evaluate(scheme) == "default"
    page.close()


def copy_first_example(page: Page) -> str:
    page.hover("div.language-pycon.highlight")
    page.click("div.language-pycon.highlight button.md-code__button[title='Copy to clipboard']")
    text: str = page.evaluate("navigator.clipboard.readText()")
    return text


def test_copy_button_copies_code_that_runs(
    base_url: str, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(base_url + "/autograd/basics/", wait_until="networkidle")
    copied = copy_first_example(page)
    context.close()
    assert ">>>" not in copied and "tensor(5.)" not in copied  # no prompts, no output
    assert copied.startswith("import torch\n")
    script = tmp_path / "copied.py"
    script.write_text(copied + "\nprint(w.grad)\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tensor(5.)\n"
