"""The Configuration tab as the retailer reads it: their options first, in the integration
page's order and words; intervals, maps, retention and the spaces override under "Advanced";
maps edited as rows picked from the systems' own lists, never as JSON."""

from __future__ import annotations

import re
from html import unescape

from .conftest import ConsoleEnv, csrf_of, flashes

SEED_LABELS = ["Export customers", "Export products", "Add sales group", "Export stock on hand",
               "Include quantities for auto-assembled products", "Update products master",
               "Accounting system invoice"]


def _labels(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip()
            for m in re.findall(r'<label for="set-[a-z_]+">(.*?)</label>', html, re.S)]


def test_the_retailer_s_options_come_first_and_the_rest_is_advanced(console_env: ConsoleEnv) -> None:
    env = console_env
    env.connect_directly()
    client = env.client()
    page = client.get("/c/shop/config").text
    main, advanced = page.split('<details class="advanced"', 1)
    labels = [label for label in _labels(main) if label in SEED_LABELS]
    assert labels == SEED_LABELS, labels
    assert "Reload Lightspeed outlets" in page
    for name in ("interval_sales", "log_retention_days", "export_codes_with_spaces", "tax_map",
                 "accounting_account_map", "accounting_tax_map"):
        assert f'data-setting="{name}"' in advanced and f'data-setting="{name}"' not in main, name
    assert "<textarea" not in page  # maps are rows, not JSON
    tax_rows = advanced[advanced.index('data-setting="tax_map"'):]
    tax_rows = tax_rows[:tax_rows.index("</table>")]
    keys = re.findall(r'<option value="([^"]*)">', tax_rows.split('name="tax_map.value"')[0])
    assert "15%" in keys, keys  # the point of sale's rates to pick from
    values = re.findall(r'<option value="([^"]+)"', tax_rows.split('name="tax_map.value"')[1])
    assert values and all(v.isupper() or v.isalnum() for v in values), values  # Unleashed's tax codes

    # a row picked from the lists is saved as the map the CLI would have set
    code = values[0]
    token = csrf_of(page)
    saved = client.post("/c/shop/settings", data={"csrf_token": token, "tax_map.key": "15%",
                                                   "tax_map.value": code}, follow_redirects=True)
    assert flashes(saved.text) == ["Saved: tax_map."], flashes(saved.text)
    assert env.app.settings(env.app.store.connection("shop"))["tax_map"] == {"15%": code}
    assert re.search(rf'name="tax_map.key" value="15%"', saved.text)
    # clearing the row's first box removes the entry
    cleared = client.post("/c/shop/settings", data={"csrf_token": csrf_of(saved.text), "tax_map.key": "",
                                                     "tax_map.value": code}, follow_redirects=True)
    assert flashes(cleared.text) == ["Saved: tax_map."]
    assert env.app.settings(env.app.store.connection("shop"))["tax_map"] == {}
