"""Each setting declared once: every declaration has a label, a default it allows and a relaunch flag; the validator,
the store's per-setting fallback and the type check read the same declaration (nothing here is listed by hand)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from farnode_desktop.core.errors import UserInputError
from farnode_desktop.core.settings import SETTINGS, PauseRules, Setting, Settings, SettingsStore, _declared, declare

NUMERIC = [s for s in SETTINGS.values() if s.numeric]
CHOICES = [s for s in SETTINGS.values() if s.choices]


def nested(setting: Setting, value: Any) -> dict[str, Any]:
    """A settings file's JSON object holding only `value` for `setting`."""
    return {setting.group: {setting.name: value}} if setting.group else {setting.name: value}


def outside(setting: Setting) -> list[Any]:
    """Values just outside a numeric setting's declared range."""
    assert setting.low is not None and setting.high is not None
    step = 1 if setting.tp in (int, int | None) else 0.5
    return [setting.low - step, setting.high + step]


def test_every_leaf_of_the_settings_is_declared_once() -> None:
    leaves = {f"pause.{f.name}" for f in dataclasses.fields(PauseRules)}
    leaves |= {f.name for f in dataclasses.fields(Settings) if f.name != "pause"}
    assert set(SETTINGS) == leaves

    @dataclasses.dataclass
    class Undeclared:
        size: int = 1

    with pytest.raises(TypeError, match=r"Undeclared\.size is not declared"):
        list(_declared(Undeclared))


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=list(SETTINGS))
def test_each_declaration_has_a_label_a_relaunch_flag_and_a_default_it_allows(setting: Setting) -> None:
    assert setting.label.strip() and setting.what.strip()
    assert isinstance(setting.relaunches, bool)
    assert setting.default == setting.read(Settings())
    assert setting.problem(setting.default) is None
    if setting.numeric:
        assert setting.low is not None and setting.high is not None and setting.low < setting.high
        assert setting.default is None or setting.low <= setting.default <= setting.high
    if setting.choices:
        assert setting.default in setting.choices
    if setting.tp is bool:
        assert setting.text.strip()  # the window's check box says what a tick means


def test_the_declared_defaults_are_valid_settings() -> None:
    Settings().validate()
    assert Settings.from_json(Settings().to_json()) == Settings()


@pytest.mark.parametrize("setting", NUMERIC, ids=[s.key for s in NUMERIC])
def test_the_validator_rejects_a_number_outside_each_declared_range(setting: Setting) -> None:
    for value in outside(setting):
        settings = Settings()
        setting.write(settings, value)
        with pytest.raises(UserInputError, match=f"^{setting.what} must be"):
            settings.validate()
        with pytest.raises(UserInputError, match=f"^{setting.what} must be"):
            Settings.from_json(nested(setting, value))
    if setting.tp is float:
        assert setting.problem(math.nan) is not None  # NaN is outside every range
    assert setting.low is not None and setting.high is not None
    for edge in (setting.low, setting.high):  # both ends are allowed
        settings = Settings()
        setting.write(settings, int(edge) if setting.tp in (int, int | None) else edge)
        settings.validate()


@pytest.mark.parametrize("setting", CHOICES, ids=[s.key for s in CHOICES])
def test_the_validator_rejects_a_value_outside_each_declared_choice(setting: Setting) -> None:
    settings = Settings()
    setting.write(settings, "not-" + setting.choices[0])
    with pytest.raises(UserInputError, match=f"^{setting.what} must be {setting.choices[0]}, "):
        settings.validate()


@pytest.mark.parametrize("setting", NUMERIC + CHOICES, ids=[s.key for s in NUMERIC + CHOICES])
def test_the_store_falls_back_to_the_declared_default_for_a_value_out_of_range(tmp_path: Path,
                                                                               setting: Setting) -> None:
    bad = outside(setting)[1] if setting.numeric else "not-" + setting.choices[0]
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"public_name": "kitchen pc", **nested(setting, bad)}))
    store = SettingsStore(path)
    settings = store.load()
    assert setting.read(settings) == setting.default and settings.public_name == "kitchen pc"
    assert store.problem is not None and f"{setting.key}: " in store.problem
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("settings.json.bad-")]) == 1
    assert SettingsStore(path).load() == settings


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=list(SETTINGS))
def test_writing_a_setting_checks_its_declared_type(setting: Setting) -> None:
    settings = Settings()
    wrong = 3.5 if setting.tp in (str, bool) or not setting.numeric else "lots"
    with pytest.raises(UserInputError, match=f"^{setting.what}: "):
        setting.write(settings, wrong)
    assert settings == Settings()


def test_a_declaration_names_itself_in_messages_by_its_label_unless_told() -> None:
    assert declare("Idle for", relaunches=False)["setting"].what == "idle for"
    assert SETTINGS["pause.temperature_limit_c"].problem(120) == (
        "the temperature limit must be between 40 and 110 °C, not 120")
