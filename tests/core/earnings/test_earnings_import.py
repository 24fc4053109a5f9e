"""core/earnings/__init__.py: the Ethereum libraries enter the app there, and their import leaves Python's default
recursion limit in place (py_ecc raises it to 100,000, py-evm to 12,288), so a runaway recursion raises instead of
overflowing the C stack."""

from __future__ import annotations

import subprocess
import sys

from farnode_desktop.core.checked_files import RECURSION_LIMIT

# Every module of the core, the CLI and the devnet imported, the selftest's wallet check run and a devnet chain
# made (web3's tester imports py-evm only then): the limit is still Python's default.
LIMIT_AFTER_IMPORTS = """
import importlib, pkgutil, sys
import farnode_desktop.cli, farnode_desktop.core, farnode_desktop.devnet
for package in (farnode_desktop.core, farnode_desktop.cli, farnode_desktop.devnet):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name != "farnode_desktop.cli.app_cmd":
            importlib.import_module(module.name)
from farnode_desktop.selftest import check_wallet_crypto
check_wallet_crypto()
from farnode_desktop.devnet.chain import DevChain
DevChain()
print("py_ecc" in sys.modules, "eth" in sys.modules, sys.getrecursionlimit())
"""


def test_importing_the_ethereum_libraries_leaves_python_s_default_recursion_limit() -> None:
    result = subprocess.run([sys.executable, "-c", LIMIT_AFTER_IMPORTS], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "True", str(RECURSION_LIMIT)]
