"""The agent side in English, German and French (issue 20.6), in a real headless Chromium
against a real server: every catalogue has the same keys and names every word its page
asks for; the desk, the supervisor view and the admin console follow the browser's
language (a string, a date or time, a number in the user's locale); a language picked
in the page is remembered and beats the browser's."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import Page, expect

from support import page_problems

# Each page's catalogues (the shared words first), as its entry module passes them to useCatalogue.
CATALOGUES = {
    "desk": [("lib/strings.js", "SHARED_STRINGS"), ("desk/strings.js", "DESK_STRINGS")],
    "supervisor": [("lib/strings.js", "SHARED_STRINGS"), ("supervisor/strings.js", "SUPERVISOR_STRINGS")],
    "admin": [("lib/strings.js", "SHARED_STRINGS"), ("admin/strings.js", "ADMIN_STRINGS")],
}
CLOCK_24H = re.compile(r"\d{2}:\d{2}")


async def localised_page(browser: Any, locale: str) -> Page:
    """A page in a browser whose language (navigator.languages) is `locale`."""
    context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    return await context.new_page()


async def intl(page: Page, expression: str) -> str:
    """What the browser's own Intl makes of something: the page must show the same."""
    return str(await page.evaluate(expression))


async def test_every_catalogue_has_the_same_keys_and_every_word_the_page_uses(sb, browser):
    page = await localised_page(browser, "en-US")
    await page.goto(f"{sb.node.base}/desk#paste")
    for view, catalogues in CATALOGUES.items():
        keys: set[str] = set()
        for module, name in catalogues:
            catalogue = await page.evaluate(
                "async ([module, name]) => (await import('/widget/' + module))[name]", [module, name]
            )
            assert set(catalogue) == {"en", "de", "fr"}, module
            english = set(catalogue["en"])
            for language in ("de", "fr"):
                assert set(catalogue[language]) == english, (module, language)
                assert all(text.strip() for text in catalogue[language].values()), (module, language)
            keys |= english
        # Every word the static page names is in its catalogues.
        markup = (await sb.http.get(f"/{view}")).text
        named = set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', markup))
        assert named, view
        assert named <= keys, (view, named - keys)


async def test_the_desk_in_german(sb, browser):
    await sb.queue("support")
    # An earlier conversation of the same customer, rated 4 of 5: the desk lists it with its date.
    bob = await sb.available_agent("bob", capacity=1)
    customer, _ = await sb.customer()
    first = (await customer.ok({"type": "start_chat", "queue": "support", "text": "Wo ist mein Paket?"}))[
        "conversation_id"
    ]
    await bob.ok({"type": "accept", "offer_id": (await bob.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    await bob.ok({"type": "end_session", "conversation_id": first})
    await customer.ok({"type": "csat", "rating": 4})
    await bob.ok({"type": "set_state", "state": "not_ready"})
    await sb.archive_caught_up()

    page = await localised_page(browser, "de-DE")
    problems = page_problems(page)
    await page.goto(f"{sb.node.base}/desk#token={await sb.agent('alice')}")
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("#connection-state")).to_have_text("Verbunden")
    await expect(page.locator("#state-heading")).to_have_text("Mein Status")
    await expect(page.locator("#composer-text")).to_have_attribute("placeholder", "Nachricht eingeben…")
    await expect(page.locator(".rail")).to_have_attribute("aria-label", "Agentenstatus und Konversationen")
    await page.select_option("#state-select", "available")
    await expect(page.locator("#state-since")).to_have_text(re.compile(r"^Verfügbar seit \d{2}:\d{2}$"))

    await customer.ok({"type": "start_chat", "queue": "support", "text": "Ich bin es wieder"})
    popup = page.locator(".offer-popup")
    await expect(popup.locator(".offer-kind")).to_have_text("Neuer Chat")
    await popup.get_by_role("button", name="Annehmen").click()
    await expect(page.locator(".tab .tab-status")).to_have_text("Aktiv")
    await expect(page.locator("#card")).to_contain_text("Warteschlange")

    earlier = page.locator("#earlier .earlier-hit")
    await expect(earlier).to_have_count(1)
    today = await intl(page, "new Intl.DateTimeFormat('de', {dateStyle: 'medium'}).format(new Date())")
    await expect(earlier.locator(".search-hit-head")).to_contain_text(today)  # e.g. "04.12.2026"
    await expect(earlier.locator(".search-hit-text")).to_contain_text("Vom Agenten beendet")
    await expect(earlier).to_have_attribute("aria-description", "Zufriedenheit 4 von 5")
    message_time = page.locator("#transcript .msg-time").first
    await expect(message_time).to_have_text(CLOCK_24H)  # German clocks have no AM/PM
    assert problems == []


async def test_a_language_picked_in_the_desk_is_remembered_and_beats_the_browsers(sb, browser):
    await sb.queue("support")
    page = await localised_page(browser, "de-DE")
    await page.goto(f"{sb.node.base}/desk#token={await sb.agent('alice')}")
    await expect(page.locator("#connection-state")).to_have_text("Verbunden")
    picker = page.get_by_label("Sprache")
    await expect(picker).to_have_value("de")
    await picker.select_option("fr")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("#connection-state")).to_have_text("Connecté")
    await expect(page.locator("#state-heading")).to_have_text("Mon état")
    assert await page.evaluate("localStorage.getItem('switchboard.language')") == "fr"
    await page.reload()
    await expect(page.locator("#state-heading")).to_have_text("Mon état")
    await page.get_by_label("Langue").select_option("en")
    await expect(page.locator("#state-heading")).to_have_text("My state")


async def test_the_supervisor_view_in_french(make_deployment, browser):
    sb = await make_deployment(stats_interval_s=0.3)
    await sb.queue("support")
    page = await localised_page(browser, "fr-FR")
    problems = page_problems(page)
    await page.goto(f"{sb.node.base}/supervisor#token={await sb.agent('sue', role='supervisor')}")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("#conn")).to_have_text("En direct")
    await expect(page.locator("#queues-title")).to_contain_text("Files d’attente")

    alice = await sb.available_agent("alice")
    customer, started = await sb.chat(text="Ma commande n’est pas arrivée", customer={"name": "Carla"})
    card = page.locator(f'#cards > li.card[data-session="{started["session_id"]}"]')
    await expect(card.locator(".status")).to_have_text("Proposée")  # alice is available: offered at once
    await alice.ok({"type": "accept", "offer_id": (await alice.expect("offer"))["offer_id"]})
    await customer.expect("chat.connected")
    await expect(card.locator(".status")).to_have_text("Active")
    await expect(card.get_by_role("button")).to_have_text("Écouter")

    tile = page.locator('#tiles > li.tile[data-queue="support"]')
    await expect(tile.locator(".fig.sl dt")).to_have_text("Niveau de service")
    full = await intl(page, "new Intl.NumberFormat('fr', {style: 'percent'}).format(1)")  # "100 %", a narrow space
    await expect(tile.locator(".fig.sl dd")).to_have_text(full)
    await expect(page.locator('#agents tbody tr[data-agent="alice"] .badge')).to_have_text("Disponible")

    await card.get_by_role("button", name=re.compile("^Écouter Carla")).click()
    await expect(page.locator("#monitor-title")).to_have_text("Écoute de Carla")
    await customer.ok({"type": "message", "text": "Bonjour ?"})
    entry = page.locator("#transcript > li").filter(has_text="Bonjour ?")
    await expect(entry.locator("time")).to_have_text(CLOCK_24H)
    assert problems == []


async def test_the_admin_console_in_german(sb, browser):
    await sb.admin(
        "POST", "/api/v1/users", {"id": "boss", "email": "boss@example.com", "name": "Boss", "role": "admin"}, 201
    )
    await sb.queue("support")
    rule = {"url_pattern": "https://shop.example.com/checkout/*", "seconds_on_page": 1500, "queue": "support"}
    await sb.admin("PUT", "/api/v1/invite-rules/checkout", {**rule, "text": "Brauchen Sie Hilfe?"}, expect=201)
    token = await sb.node.services.login_links.create("boss")
    page = await localised_page(browser, "de-DE")
    page.on("dialog", lambda dialog: dialog.accept())
    problems = page_problems(page)
    await page.goto(f"{sb.node.base}/login#once={token}")
    await expect(page.get_by_role("heading", name="Benutzer", exact=True)).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.get_by_role("button", name="Benutzer anlegen")).to_be_visible()

    # A number: the rule's seconds in the German way of writing them.
    await page.get_by_role("link", name="Einladungsregeln").click()
    rules = page.locator("#rules-table")
    await expect(rules).to_contain_text("1.500 s")
    await expect(rules).to_contain_text("Ja")

    # A date: the audit trail's times as a German reader writes them.
    await page.get_by_role("link", name="Prüfprotokoll").click()
    today = await intl(page, "new Intl.DateTimeFormat('de', {dateStyle: 'medium'}).format(new Date())")
    await expect(page.locator("#audit-table tbody tr").first).to_contain_text(today)
    await page.get_by_role("link", name="API-Schlüssel").click()
    await page.locator("#key-form").get_by_label("Name").fill("CRM")
    await page.get_by_role("button", name="Schlüssel anlegen").click()
    await expect(page.locator("#keys-status")).to_have_text(
        "Der Schlüssel „CRM“ ist angelegt: Kopieren Sie ihn jetzt, er wird nicht noch einmal angezeigt."
    )
    assert problems == []
