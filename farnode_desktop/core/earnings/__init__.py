"""Money: the wallet and its keyring, EIP-712 messages, the coordinator, claims, on-chain payouts, the ledger.

The Ethereum libraries enter the app here, imported once with Python's recursion limit kept at its default
(py_ecc, under eth-account, raises it to 100,000 on import: see checked_files.recursion_limit_kept)."""

from farnode_desktop.core.checked_files import recursion_limit_kept

with recursion_limit_kept():
    import eth_account  # noqa: F401
