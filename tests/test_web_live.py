"""The real chat server end to end: gradio_client and headless Chromium against the real models.

One server per module on a free local port, with the real embedder and LLM (marker `real`);
the browser test also needs Debian's `chromium` and `chromium-driver` (marker `browser`).
On a busy 2-core machine one answer takes 20-60 s, so the timeouts are generous.
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from index.text import canonical
from tests.conftest import SEEDS

pytestmark = [pytest.mark.real, pytest.mark.filterwarnings("ignore:::gradio.queueing")]

SHOWCASE = "why did Erdogan pivot after 2016?"
# The passages that say the West failed to back Erdogan after the coup attempt.
WEST_FAILED = [
    "did not receive the backing from the west",
    "western leaders did not provide ankara the support it needed",
    "erdogan was disappointed in the west",
]
TIMEOUT = 300  # seconds for one answer
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def supports(text: str) -> bool:
    return any(quote in canonical(text) for quote in WEST_FAILED)


@pytest.fixture(scope="module")
def live_url(tmp_path_factory):
    """The web app over the seed articles, served once per module; the index goes to a tmp dir."""
    pytest.importorskip("gradio_client")
    from chat import web
    from chat.app import build_pipeline
    from chat.settings import Settings
    from models.gguf import resolve_gguf

    shared = Settings.load()  # the assembled 1.1 GB model in the user's data dir is reused
    gguf = resolve_gguf(shared.generator.gguf, shared.data_dir)
    settings = Settings.load(corpus=str(SEEDS), data_dir=str(tmp_path_factory.mktemp("web-data")), gguf=str(gguf))
    pipeline = build_pipeline(settings)
    pipeline.warm_up(full_embedder=True)
    demo = web.build_app(pipeline, corpus="seeds")
    url = web.launch(demo, port=0)
    yield url
    demo.close()


def test_showcase_answer_through_gradio_client_is_cited_with_the_right_passage(live_url):
    from gradio_client import Client

    _, chat, panel, _, answer = Client(live_url, verbose=False).predict(SHOWCASE, [], api_name="/ask")
    assert not answer["refused"] and answer["citations"], answer
    assert any(supports(c["text"]) for c in answer["citations"]), answer["citations"]
    shown = [int(n) for n in re.findall(r'class="seedqa-source" id="seedqa-t1-s(\d+)"', panel)]
    assert shown == [c["n"] for c in answer["citations"]]  # exactly the cited sources
    panel_text = canonical(html.unescape(re.sub(r"<[^>]+>", "", panel)))
    for citation in answer["citations"]:
        original = (SEEDS / citation["source"]).read_text(encoding="utf-8")
        assert canonical(original[citation["start"] : citation["end"]]) == canonical(citation["text"])
        assert citation["source"] in panel and canonical(citation["text"]) in panel_text
    assert any(supports(" ".join(marks)) for marks in answer["highlights"].values()), answer["highlights"]
    assert "<mark>" in panel and f'href="#seedqa-t1-s{answer["citations"][0]["n"]}"' in chat[-1]["content"][0]["text"]


def test_two_concurrent_clients_both_get_complete_answers(live_url):
    from gradio_client import Client

    questions = {SHOWCASE: "West", "Which Libyan commander did Erdogan accuse Russia of backing?": "Haftar"}
    jobs = {q: Client(live_url, verbose=False).submit(q, [], api_name="/ask") for q in questions}
    for question, expected in questions.items():
        *_, answer = jobs[question].result(timeout=2 * TIMEOUT)
        assert "error" not in answer and answer["question"] == question
        assert expected in answer["answer"] and answer["citations"], answer


def chromium_driver(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={profile}", "--window-size=1400,1000",
    ):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


@pytest.mark.browser
@pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
)
def test_browser_shows_a_cited_answer_and_its_source_passage(live_url, tmp_path):
    pytest.importorskip("selenium")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    profile = Path(tempfile.mkdtemp(prefix="seedqa-chromium-"))
    driver = chromium_driver(profile)
    try:
        driver.get(live_url)
        box = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#seedqa-question textarea"))
        box.send_keys(SHOWCASE, Keys.ENTER)
        WebDriverWait(driver, TIMEOUT).until(lambda d: "Sources for" in d.find_element(By.ID, "seedqa-sources").text)
        links = driver.find_elements(By.CSS_SELECTOR, '#seedqa-chat a[href^="#seedqa-t1-s"]')
        assert links, driver.find_element(By.ID, "seedqa-chat").text
        cards = driver.find_elements(By.CSS_SELECTOR, "#seedqa-sources .seedqa-source")
        assert {link.get_attribute("href").split("#")[1] for link in links} == {c.get_attribute("id") for c in cards}
        assert any(supports(card.text) for card in cards), [card.text for card in cards]
        marks = driver.find_elements(By.CSS_SELECTOR, "#seedqa-sources mark")
        assert marks and all(mark.is_displayed() for mark in marks)
        assert ".txt" in links[0].get_attribute("title")  # hovering names the source
        links[0].click()  # clicking leads to the source card
        target = links[0].get_attribute("href").split("#")[1]
        WebDriverWait(driver, 10).until(
            lambda d: "seedqa-focus" in d.find_element(By.ID, target).get_attribute("class")
        )
        screenshot = tmp_path / "chat.png"
        assert driver.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
