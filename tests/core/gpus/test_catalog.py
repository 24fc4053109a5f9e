"""The model catalog: resources/models.json loads, every model carries what the planner needs and checks against its
own architecture, names resolve with suggestions, and a broken or missing catalog is a plain error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from farnode_desktop.core.errors import FarNodeError, UserInputError
from farnode_desktop.core.gpus.catalog import DTYPE_BYTES, Catalog, ModelSpec, block_params, catalog_path

ROOT = Path(__file__).resolve().parents[3]


def test_the_shipped_catalog_loads_from_the_source_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FARNODE_CATALOG", raising=False)
    assert catalog_path() == ROOT / "resources" / "models.json"
    catalog = Catalog.load()
    assert len(catalog.models) >= 5
    assert len(set(catalog.names())) == len(catalog.names())


def test_every_model_has_what_the_planner_needs() -> None:
    for model in Catalog.load().models:
        assert model.name.count("/") == 1 and model.display, model.name
        assert model.family in ("llama", "mixtral", "falcon", "bloom", "qwen3", "qwen3_moe"), model.name
        assert model.dtype in DTYPE_BYTES, model.name
        assert model.num_layers > 0 and model.hidden_size > 0 and model.kv_groups >= 1, model.name
        assert model.params_per_block == block_params(model) > 0, model.name
        assert ModelSpec.from_json(model.to_json()) == model  # round-trips through JSON


def test_names_resolve_case_insensitively_and_by_short_name() -> None:
    catalog = Catalog.load()
    model = catalog.models[0]
    assert catalog.get(f"  {model.name.upper()} ") is model
    assert catalog.get(model.name.split("/")[-1].lower()) is model


def test_an_unknown_name_is_a_plain_error_with_suggestions() -> None:
    catalog = Catalog.load()
    model = catalog.models[0]
    with pytest.raises(UserInputError) as typo:
        catalog.get(model.name[:-1])
    assert f"FarNode does not know the model {model.name[:-1]!r}" in str(typo.value)
    assert typo.value.hint.startswith("did you mean") and model.name in typo.value.hint
    with pytest.raises(UserInputError) as nothing_close:
        catalog.get("zzzzqqqq")
    assert nothing_close.value.hint == "known models: " + ", ".join(catalog.names())


def test_farnode_catalog_points_at_another_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = json.loads((ROOT / "resources" / "models.json").read_text(encoding="utf-8"))
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": shipped["models"][:1]}), encoding="utf-8")
    monkeypatch.setenv("FARNODE_CATALOG", str(path))
    assert catalog_path() == path
    assert Catalog.load().names() == [shipped["models"][0]["name"]]


@pytest.mark.parametrize("text", [None, "{not json", '{"no_models": []}', '{"models": [{"name": "x/y"}]}'],
                         ids=["missing", "not-json", "no-models-key", "entry-missing-fields"])
def test_a_missing_or_broken_catalog_is_a_plain_error(
        text: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "models.json"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("FARNODE_CATALOG", str(path))
    with pytest.raises(FarNodeError) as caught:
        Catalog.load()
    assert f"the model catalog {path} could not be read" in str(caught.value)
    assert caught.value.hint == "reinstall FarNode Desktop"


def test_an_entry_whose_numbers_disagree_with_its_architecture_is_refused(tmp_path: Path) -> None:
    entry = Catalog.load().models[0].to_json()
    for change, words in (({"params_per_block": entry["params_per_block"] + 1}, "its architecture gives"),
                          ({"dtype": "int3"}, "unknown dtype 'int3'"),
                          ({"kv_groups": entry["kv_groups"] + 1}, "kv_groups does not match"),
                          ({"family": "gpt9"}, "does not know the 'gpt9' architecture")):
        path = tmp_path / "models.json"
        path.write_text(json.dumps({"models": [{**entry, **change}]}), encoding="utf-8")
        with pytest.raises(FarNodeError, match=words):
            Catalog.load(path)
