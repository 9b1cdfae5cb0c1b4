"""Every language on a phone: the sender's page (before and after a share), the recipient's page
of a real share and an error page render in it, right to left for Arabic, without anything
wider than the screen; the switcher changes the language at once and the choice is remembered
over Accept-Language.

Set LANGUAGE_SHOTS=/some/dir to keep a phone screenshot of each page for a human to look at.
"""

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.actions import get_link, open_offer, path_of

LOCALES = Path(__file__).resolve().parents[2] / "static" / "locales"
INDEX = json.loads((LOCALES / "index.json").read_text(encoding="utf-8"))
SHIPPED = [tag for tag in INDEX if (LOCALES / f"{tag}.json").is_file()]
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
SHOTS = os.environ.get("LANGUAGE_SHOTS")

#: Every visible element that reaches past the viewport's edges, and the page's scroll width.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;  // hidden, or visually-hidden text
    const style = getComputedStyle(element);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    // Text spilling out of its own box (a button label that does not wrap) counts too; form
    // fields scroll their value by design, and an ellipsis is a deliberate cut.
    const field = /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName);
    const spills = style.overflowX === 'visible' && !field
      && element.scrollWidth > element.clientWidth + 1 && element.clientWidth > 0;
    if (box.right > width + 0.5 || box.left < -0.5 || spills) {
      wide.push(`${element.tagName.toLowerCase()}#${element.id}.${element.className}`
        + ` [${Math.round(box.left)}, ${Math.round(box.right)}]`);
    }
  }
  return { scrollWidth: document.scrollingElement.scrollWidth, width, wide };
}"""


def words(tag):
    return json.loads((LOCALES / f"{tag}.json").read_text(encoding="utf-8"))


def expect_fits(page, where):
    result = page.evaluate(OVERFLOW)
    assert result["scrollWidth"] <= result["width"], (where, result)
    assert result["wide"] == [], (where, result["wide"])


def expect_language(page, tag):
    direction = INDEX[tag].get("dir", "ltr")
    expect(page.locator("html")).to_have_attribute("lang", tag)
    expect(page.locator("html")).to_have_attribute("dir", direction)


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.mark.parametrize("tag", SHIPPED)
def test_each_language_fits_a_phone(open_page, watch, tag):
    catalogue = words(tag)
    sender = open_page("/", locale=tag, **PHONE)
    expect_language(sender, tag)
    expect(sender.locator("#intro-title")).to_have_text(catalogue["send.heading.files"])
    expect(sender.locator("#language-select")).to_have_value(tag)
    expect(sender.locator("#expiry option")).not_to_have_count(0)
    expect_fits(sender, f"{tag} sender")
    shot(sender, f"{tag}-1-send")

    sender.click("#tab-note")
    sender.fill("#note", "Die Tür-PIN ist 4711. / 门的密码是 4711。/ رمز الباب 4711")
    expect(sender.locator("#intro-title")).to_have_text(catalogue["send.heading.note"])
    link = get_link(sender)
    expect(sender.locator("#result-title")).to_have_text(catalogue["result.title"])
    expect(sender.locator("#share-link")).to_have_attribute("dir", "ltr")  # a link reads LTR
    expect_fits(sender, f"{tag} result")
    shot(sender, f"{tag}-2-result")

    recipient = open_offer(open_page, link, locale=tag, **PHONE)
    expect_language(recipient, tag)
    expect(recipient.locator("#claim")).to_have_text(catalogue["offer.show-note"])
    expect_fits(recipient, f"{tag} offer")
    shot(recipient, f"{tag}-3-offer")

    error = open_page(locale=tag, **PHONE)
    answer = error.goto("/s/not-a-share")
    assert answer.status == 404
    expect_language(error, tag)
    expect(error.locator("h1")).to_have_text(catalogue["errorpage.not-found.title"])
    expect_fits(error, f"{tag} error page")
    shot(error, f"{tag}-4-error")
    watch.assert_clean(expected_errors=["status of 404"])


def test_the_switcher_changes_the_language_and_remembers_it(open_page, watch):
    choice = "ar" if "ar" in SHIPPED else "fr"
    page = open_page("/", locale="de", **PHONE)
    expect_language(page, "de")
    expect(page.locator("#expiry option")).not_to_have_count(0)
    page.click("#tab-note")
    german_expiry = page.locator("#expiry option:checked").inner_text()
    page.select_option("#language-select", choice)
    expect_language(page, choice)
    # The templates' words and the ones the form wrote itself (heading of the open tab, expiry).
    expect(page.locator("#intro-title")).to_have_text(words(choice)["send.heading.note"])
    expect(page.locator(".header-badge")).to_have_text(words(choice)["base.badge"])
    expect(page.locator("#expiry option:checked")).not_to_have_text(german_expiry)
    expect_fits(page, f"switched to {choice}")

    # Remembered in this browser: it wins over Accept-Language (still German) on every page.
    page.reload()
    expect_language(page, choice)
    expect(page.locator("#language-select")).to_have_value(choice)
    expect(page.locator("#intro-title")).to_have_text(words(choice)["send.heading.files"])
    expect(page.locator("#expiry option")).not_to_have_count(0)
    page.click("#tab-note")
    page.fill("#note", "remembered")
    link = get_link(page)
    page.goto(path_of(link))
    expect(page.locator("#offer")).to_be_visible()
    expect_language(page, choice)
    expect(page.locator("#claim")).to_have_text(words(choice)["offer.show-note"])

    # Another person (a fresh browser) still gets the language their browser asks for.
    other = open_page("/", locale="de", **PHONE)
    expect_language(other, "de")
    watch.assert_clean()


def test_numbers_and_dates_follow_the_language(open_page, watch):
    page = open_page("/", locale="de", **PHONE)
    expect(page.locator("#expiry option")).not_to_have_count(0)
    formatted = page.evaluate("""async () => {
      const format = await import('/static/js/format.js');
      return [format.formatBytes(2_200_000_000), format.formatBytes(1_500)];
    }""")
    assert formatted == ["2,2\u00a0GB", "1,5\u00a0KB"]  # German decimal comma, no-break space
    watch.assert_clean()
