"""A new wallet's recovery phrase: made once, shown once, checked word by word; never stored, logged or printed
by itself (its repr and str hide the words)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Mapping, Sequence

from eth_account import Account

from farnode_desktop.core.errors import UserInputError

Account.enable_unaudited_hdwallet_features()

WORDS = 12
QUIZ_WORDS = 3

LOSS_WARNING = (
    "These words are your wallet. Anyone who has them can take what it holds, and they are the only way back "
    "to it: if this PC breaks, is reset or stolen and the words are lost, the FAR paid to this wallet is gone "
    "for good. FarNode cannot recover them and keeps no copy outside your system's keyring."
)
WRITE_IT_DOWN = "Write the words on paper, in order. Don't take a photo, don't save or paste them anywhere."


class RecoveryPhrase:
    """The BIP-39 words of a wallet that is about to be created; handed to Wallet.create once confirmed."""

    __slots__ = ("_words",)

    def __init__(self, words: Sequence[str]) -> None:
        self._words = tuple(w.strip().lower() for w in words)

    @classmethod
    def new(cls, words: int = WORDS) -> RecoveryPhrase:
        """Fresh words from the OS's random source (eth-account's BIP-39 generator)."""
        _, mnemonic = Account.create_with_mnemonic(num_words=words)
        return cls(mnemonic.split())

    @property
    def words(self) -> tuple[str, ...]:
        return self._words

    def reveal(self) -> str:
        """The phrase as one line, for the key derivation and for the one screen that shows it."""
        return " ".join(self._words)

    def __repr__(self) -> str:
        return f"RecoveryPhrase({len(self._words)} words, hidden)"

    __str__ = __repr__

    def quiz(self, rng: random.Random | None = None, count: int = QUIZ_WORDS) -> tuple[int, ...]:
        """`count` distinct word positions (1-based, in order) the provider is asked to type back."""
        chooser = rng if rng is not None else secrets.SystemRandom()
        return tuple(sorted(chooser.sample(range(1, len(self._words) + 1), min(count, len(self._words)))))

    def wrong(self, answers: Mapping[int, str]) -> list[int]:
        """The positions whose typed word does not match (spaces and case ignored)."""
        return [pos for pos, typed in sorted(answers.items())
                if not 1 <= pos <= len(self._words) or typed.strip().lower() != self._words[pos - 1]]

    def check(self, answers: Mapping[int, str]) -> None:
        """Raise a plain error naming the positions (never the words) that were typed wrong."""
        if not answers:
            raise UserInputError("type the words asked for, to show the phrase was written down")
        wrong = self.wrong(answers)
        if wrong:
            which = ", ".join(f"#{p}" for p in wrong)
            raise UserInputError(
                f"word {which} does not match the recovery phrase; nothing was created",
                hint="look at what you wrote down (or show the words again) and check that word",
            )

    def forget(self) -> None:
        """Drop the words from this object once they are no longer needed."""
        self._words = ()
