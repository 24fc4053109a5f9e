"""`farnode wallet ...`: create, import, show, export, delete the payout wallet, and bind a node to it.
Secrets are read from stdin or a hidden prompt, never from the command line."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from farnode_desktop.cli.stores import claim_factory, open_wallet
from farnode_desktop.core.earnings.recovery import LOSS_WARNING, WRITE_IT_DOWN, RecoveryPhrase
from farnode_desktop.core.earnings.wallet import MAX_KEYSTORE_BYTES, read_keystore_file
from farnode_desktop.core.errors import UserInputError

MAX_STDIN_LINE = MAX_KEYSTORE_BYTES


def _read_secret(prompt: str) -> str:
    """A hidden prompt on a terminal; otherwise one line from stdin (for scripts and pipes)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    try:
        line = sys.stdin.readline(MAX_STDIN_LINE + 1)  # bounded: a pipe from /dev/zero must not fill the memory
    except UnicodeDecodeError:
        raise UserInputError(f"what was given on stdin is not text ({prompt.strip().rstrip(':')})") from None
    if not line:
        raise UserInputError(f"nothing was given on stdin ({prompt.strip().rstrip(':')})")
    if len(line) > MAX_STDIN_LINE:
        raise UserInputError(f"the line given on stdin is too long ({prompt.strip().rstrip(':')})",
                             hint=f"a key, phrase, password or keystore fits in {MAX_STDIN_LINE // 1024} KiB")
    return line.rstrip("\r\n")


def _confirm(question: str) -> bool:
    print(question, end=" ", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


ALT_SCREEN_ON, ALT_SCREEN_OFF = "\x1b[?1049h\x1b[H\x1b[2J", "\x1b[2J\x1b[?1049l"
QUIZ_ROUNDS = 3


def _show_phrase(phrase: RecoveryPhrase) -> None:
    """The words on the terminal's alternate screen (gone from view, and from most scrollbacks, after Enter)."""
    print(ALT_SCREEN_ON, end="")
    print("Your new wallet's recovery phrase\n")
    print(LOSS_WARNING + "\n")
    print(WRITE_IT_DOWN + "\n")
    words = phrase.words
    rows = (len(words) + 2) // 3
    for r in range(rows):
        print("   ".join(f"{i + 1:>2}. {words[i]:<10}" for i in range(r, len(words), rows)))
    print("\nPress Enter once the words are written down.", end=" ", flush=True)
    try:
        sys.stdin.readline()
    finally:
        print(ALT_SCREEN_OFF, end="", flush=True)


def _quiz(phrase: RecoveryPhrase) -> bool:
    """Ask for a few of the words back (typed hidden); show the words again after a mistake."""
    for round_ in range(QUIZ_ROUNDS):
        positions = phrase.quiz()
        print(f"To check your copy, type words {', '.join(f'#{p}' for p in positions)} of the phrase "
              "(what you type is hidden).")
        answers = {p: getpass.getpass(f"Word #{p}: ") for p in positions}
        try:
            phrase.check(answers)
            return True
        except UserInputError as exc:
            print(f"{exc}.", file=sys.stderr)
            if round_ < QUIZ_ROUNDS - 1:
                print("Press Enter to see the words again.", end=" ", flush=True)
                sys.stdin.readline()
                _show_phrase(phrase)
    return False


def cmd_create(args: argparse.Namespace) -> int:
    wallet = open_wallet()
    if wallet.exists():  # before any words are shown: they would belong to a wallet that cannot be stored
        raise UserInputError(
            f"a wallet ({wallet.address()}) is already set up; FarNode keeps one payout wallet",
            hint="delete it with `farnode wallet delete` first (after backing it up), then try again",
        )
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserInputError(
            "a new wallet's recovery phrase is shown only on a terminal, never written to a pipe or file",
            hint="run `farnode wallet create` directly in a terminal window",
        )
    phrase = RecoveryPhrase.new()
    try:
        _show_phrase(phrase)
        if not _quiz(phrase):
            raise UserInputError(
                "the words typed did not match the recovery phrase, so no wallet was created",
                hint="run `farnode wallet create` again and write the new words down carefully",
            )
        address = wallet.create(phrase)
    finally:
        phrase.forget()
    print(f"New wallet created: {address}")
    print("Its key is in your OS keyring; its backup is the 12 words you wrote down. Keep them safe and offline:"
          " with them you can restore this wallet on any PC (`farnode wallet import`).")
    return 0


BACKUP_OF = {"keystore": "keystore file and its password", "mnemonic": "recovery phrase", "hex": "private key"}


def cmd_import(args: argparse.Namespace) -> int:
    kind = args.kind
    keystore_json = ""
    if args.keystore_file is not None:
        kind = "keystore"
        keystore_json = read_keystore_file(args.keystore_file)  # a regular file, bounded in size; checked first
    wallet = open_wallet()
    if kind == "keystore":
        if args.keystore_file is None:
            keystore_json = _read_secret("Keystore JSON (one line): ")
        password = _read_secret("Keystore password: ")
        address = wallet.import_keystore(keystore_json, password)
    else:
        secret = _read_secret("Private key (hex) or recovery phrase (hidden): ").strip()
        if kind == "auto":
            kind = "mnemonic" if len(secret.split()) > 1 else "hex"
        if kind == "mnemonic":
            passphrase = _read_secret("BIP-39 passphrase (hidden): ") if args.with_passphrase else ""
            address = wallet.import_mnemonic(secret, passphrase, args.hd_path)
        else:
            address = wallet.import_hex(secret)
        del secret
    print(f"Wallet imported: {address}")
    print(f"Its backup is the {BACKUP_OF[kind]} you just imported: keep it safe and offline. FarNode keeps the key"
          " only in your OS keyring.")
    return 0


def cmd_address(args: argparse.Namespace) -> int:
    address = open_wallet().address()
    print(json.dumps({"address": address}) if args.json else address)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if not sys.stdout.isatty():
        raise UserInputError(
            "the private key is shown only on a terminal, never written to a pipe or file",
            hint="run `farnode wallet export` directly in a terminal window",
        )
    wallet = open_wallet()
    address = wallet.address()
    print("Anyone who sees this key can take everything in the wallet. Make sure no one is watching.")
    if args.i_understand:
        if not _confirm("Show the private key on this screen now? [y/N]"):
            print("Nothing was shown.")
            return 1
        typed = address
    else:
        print(f"To confirm, type the wallet's address ({address}):", end=" ", flush=True)
        typed = sys.stdin.readline().strip()
    key = wallet.export_key(typed)
    print(key)
    del key
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    wallet = open_wallet()
    address = wallet.address()
    print(f"Deleting {address} removes its key from this computer. Without a backup the funds are lost.")
    typed = args.confirm_address
    if typed is None:
        print("To confirm, type the wallet's address:", end=" ", flush=True)
        typed = sys.stdin.readline().strip()
    wallet.delete(typed)
    print("The wallet was deleted from the OS keyring.")
    return 0


def cmd_bind(args: argparse.Namespace) -> int:
    factory = claim_factory()
    client = factory.client()
    terms = factory.terms(client)  # chain, contract and fee checked on the provider's own chain first
    binding = client.bind_node(open_wallet(), args.peer_id, terms)
    print(f"Node {binding.peer_id} now earns for {binding.wallet}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("wallet", help="the payout wallet (its key stays in the OS keyring)")
    sub = parser.add_subparsers(dest="wallet_command", metavar="ACTION", required=True)

    p = sub.add_parser("create", help="make a new wallet: shows its recovery phrase once, asks for some words back")
    p.set_defaults(handler=cmd_create)

    p = sub.add_parser("import", help="import a key: hex, recovery phrase or keystore file (read from stdin)")
    p.add_argument("--kind", choices=("auto", "hex", "mnemonic", "keystore"), default="auto")
    p.add_argument("--keystore-file", metavar="PATH", help="an encrypted keystore (UTC/JSON) file")
    p.add_argument("--hd-path", default="m/44'/60'/0'/0/0", help="derivation path for a recovery phrase")
    p.add_argument("--with-passphrase", action="store_true", help="the phrase has a BIP-39 passphrase")
    p.set_defaults(handler=cmd_import)

    p = sub.add_parser("address", help="show the wallet's address")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_address)

    p = sub.add_parser("export", help="show the private key on this terminal (after confirmation)")
    p.add_argument("--i-understand", action="store_true", help="skip typing the address (still asks y/N)")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("delete", help="remove the wallet key from the OS keyring")
    p.add_argument("--confirm-address", metavar="ADDRESS", help="the wallet's address, to confirm")
    p.set_defaults(handler=cmd_delete)

    p = sub.add_parser("bind", help="have the coordinator pay a node's served work to this wallet")
    p.add_argument("peer_id", help="the node's peer id (shown by `farnode node status`)")
    p.set_defaults(handler=cmd_bind)

