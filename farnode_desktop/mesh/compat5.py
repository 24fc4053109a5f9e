"""The names Petals 2.2 imports from transformers 4.x and peft 0.5 that transformers 5 / peft 0.22 removed, restored.

Each restored name is listed in `RESTORED` with what it stands for; `install()` runs in the bridge, before
`petals` is imported, and only adds a name that is missing (a runtime with the older libraries is left alone).
"""

from __future__ import annotations

import importlib
from typing import Any

# peft 0.5's `peft.utils.COMMON_LAYERS_PATTERN` (petals/utils/peft.py builds its adapter-key regex from it).
PEFT_COMMON_LAYERS_PATTERN = ["layers", "h", "block", "blocks", "layer"]

RESTORED = {
    "transformers.utils.get_file_from_repo": "transformers 4.x helper (removed in 5.0): cached_file that returns None "
                                             "for a missing file; petals/server/from_pretrained.py and utils/peft.py",
    "transformers.PretrainedConfig": "the 4.x spelling of transformers 5's PreTrainedConfig (kept as an alias in 5.x "
                                     "releases that have it; restored where one does not)",
    "peft.utils.COMMON_LAYERS_PATTERN": "peft 0.5's list of layer-container names (removed in later peft)",
}


def get_file_from_repo(path_or_repo: Any, filename: str, cache_dir: Any = None, force_download: bool = False,
                       resume_download: Any = None, proxies: Any = None, token: Any = None, revision: Any = None,
                       local_files_only: bool = False, subfolder: str = "", use_auth_token: Any = None,
                       **_ignored: Any) -> str | None:
    """transformers 4.x's `get_file_from_repo`: the file's local path (downloaded if need be), None when the repo or
    folder has no such file (or it cannot be reached)."""
    from transformers.utils import cached_file

    return cached_file(  # type: ignore[no-any-return]
        path_or_repo_id=path_or_repo, filename=filename, cache_dir=cache_dir, force_download=force_download,
        proxies=proxies, token=token if token is not None else use_auth_token, revision=revision,
        local_files_only=local_files_only, subfolder=subfolder, _raise_exceptions_for_gated_repo=False,
        _raise_exceptions_for_missing_entries=False, _raise_exceptions_for_connection_errors=False)


def install() -> list[str]:
    """Put back what is missing; returns the dotted names restored in this process."""
    restored: list[str] = []
    transformers_utils = importlib.import_module("transformers.utils")
    if not hasattr(transformers_utils, "get_file_from_repo"):
        setattr(transformers_utils, "get_file_from_repo", get_file_from_repo)  # noqa: B010
        restored.append("transformers.utils.get_file_from_repo")
    transformers = importlib.import_module("transformers")
    if not hasattr(transformers, "PretrainedConfig") and hasattr(transformers, "PreTrainedConfig"):
        setattr(transformers, "PretrainedConfig", transformers.PreTrainedConfig)  # noqa: B010
        restored.append("transformers.PretrainedConfig")
    try:
        peft_utils = importlib.import_module("peft.utils")
    except ImportError:
        peft_utils = None
    if peft_utils is not None and not hasattr(peft_utils, "COMMON_LAYERS_PATTERN"):
        setattr(peft_utils, "COMMON_LAYERS_PATTERN", list(PEFT_COMMON_LAYERS_PATTERN))  # noqa: B010
        restored.append("peft.utils.COMMON_LAYERS_PATTERN")
    return restored
