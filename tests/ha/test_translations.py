"""Tests that every message the integration can show has its English text."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

import pytest
import yaml

from custom_components.smart_labeling.const import LABELS

PACKAGE = Path(__file__).parents[2] / "custom_components" / "smart_labeling"


def _json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    return data


def _sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8") for path in sorted(PACKAGE.glob("*.py"))
    )


def test_english_translation_is_the_source() -> None:
    """Test translations/en.json is the same as strings.json."""
    assert _json("translations/en.json") == _json("strings.json")


def test_every_exception_has_a_message() -> None:
    """Test each translation key raised in the code has a message."""
    strings = _json("strings.json")
    sources = _sources()
    raised = set(
        re.findall(r'translation_domain=DOMAIN,\s+translation_key="(\w+)"', sources)
    )
    issues = set(
        re.findall(r'is_fixable=False,[^)]*?translation_key="(\w+)"', sources, re.S)
    )

    assert raised
    assert raised <= set(strings["exceptions"])
    assert issues == set(strings["issues"])


def test_every_flow_error_and_abort_has_a_text() -> None:
    """Test each error and abort reason of the flows has a text."""
    strings = _json("strings.json")
    code = (PACKAGE / "config_flow.py").read_text(encoding="utf-8")
    errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', code))
    reasons = set(re.findall(r'reason="(\w+)"', code))

    assert errors <= set(strings["config"]["error"]) | set(strings["options"]["error"])
    assert {"cannot_connect", "invalid_auth", "unknown"} <= set(
        strings["options"]["error"]
    )
    assert reasons | {"already_configured"} <= set(strings["config"]["abort"])


@pytest.mark.parametrize("platform", ["binary_sensor", "sensor", "select", "switch"])
def test_every_entity_has_a_name_and_icon(platform: str) -> None:
    """Test the entities with a translation key have a name and an icon."""
    names = _json("strings.json")["entity"][platform]
    icons = _json("icons.json")["entity"][platform]
    code = (PACKAGE / f"{platform}.py").read_text(encoding="utf-8")
    keys = set(re.findall(r'translation_key=f?"([\w{}]+)"', code))

    assert all(names[key]["name"] for key in names)
    assert set(icons) <= set(names)
    assert {key for key in keys if "{" not in key} <= set(names)


def test_label_states_are_translated() -> None:
    """Test the label sensor names every label."""
    states = _json("strings.json")["entity"]["sensor"]["label"]["state"]

    assert set(states) == set(LABELS)


def test_services_are_described() -> None:
    """Test services.yaml, the strings and the icons list the same actions."""
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    strings = _json("strings.json")["services"]
    icons = _json("icons.json")["services"]

    assert set(services) == set(strings) == set(icons)
    for name, service in services.items():
        assert set(service["fields"]) == set(strings[name]["fields"])
