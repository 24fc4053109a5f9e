"""A new wallet's recovery phrase: valid BIP-39 words, hidden in repr/str, a quiz of distinct positions, and a
check that names wrong positions, never words."""

from __future__ import annotations

import random

import pytest
from eth_account import Account
from mnemonic import Mnemonic

from farnode_desktop.core.earnings.recovery import LOSS_WARNING, RecoveryPhrase
from farnode_desktop.core.errors import UserInputError

PHRASE = "test test test test test test test test test test test junk"


def test_a_new_phrase_is_twelve_valid_bip39_words_and_differs_each_time() -> None:
    first, second = RecoveryPhrase.new(), RecoveryPhrase.new()
    assert len(first.words) == 12 and Mnemonic("english").check(first.reveal())
    assert first.reveal() != second.reveal()
    assert Account.from_mnemonic(first.reveal()).address.startswith("0x")


def test_the_words_never_show_in_repr_or_str() -> None:
    phrase = RecoveryPhrase(PHRASE.split())
    for text in (repr(phrase), str(phrase), f"{phrase}", f"{[phrase]}"):
        assert "test" not in text and "junk" not in text and "hidden" in text


def test_the_quiz_asks_three_distinct_positions_in_order() -> None:
    phrase = RecoveryPhrase(PHRASE.split())
    for seed in range(20):
        positions = phrase.quiz(random.Random(seed))
        assert len(positions) == 3 == len(set(positions)) and list(positions) == sorted(positions)
        assert all(1 <= p <= 12 for p in positions)
    assert len({phrase.quiz() for _ in range(30)}) > 1  # the system's random source, not a fixed pick


def test_check_accepts_the_right_words_and_names_wrong_positions_only() -> None:
    phrase = RecoveryPhrase(PHRASE.split())
    phrase.check({1: "test", 12: " JUNK ", 5: "test"})  # spaces and case do not matter
    with pytest.raises(UserInputError) as err:
        phrase.check({1: "test", 12: "junk", 7: "jump"})
    assert "#7" in str(err.value) and "nothing was created" in str(err.value)
    assert "jump" not in str(err.value) and "junk" not in str(err.value)
    assert phrase.wrong({0: "test", 13: "test", 2: "test"}) == [0, 13]
    with pytest.raises(UserInputError, match="type the words"):
        phrase.check({})


def test_forget_drops_the_words_and_the_warning_says_what_losing_them_means() -> None:
    phrase = RecoveryPhrase(PHRASE.split())
    phrase.forget()
    assert phrase.words == () and phrase.reveal() == ""
    assert "gone for good" in LOSS_WARNING and "cannot recover" in LOSS_WARNING
