"""Claim messages a provider reads: known refusal codes in plain sentences, unknown ones with the coordinator's
message, every wei figure in FAR."""

from __future__ import annotations

import pytest

from farnode_desktop.core.earnings.claim_words import REFUSALS, amount, amounts_in_far, refusal


def test_wei_figures_become_far() -> None:
    text = "the claimable amount (828000000000000 wei) is below the minimum (1000000000000000 wei)"
    assert amounts_in_far(text) == "the claimable amount (0.000828 FAR) is below the minimum (0.001 FAR)"
    assert amounts_in_far("2 wei", 18, "FAR") == "2 wei".replace("2 wei", "<0.000001 FAR")
    assert amount(1_500_000_000_000_000_000, 18, "FAR") == "1.5 FAR"


@pytest.mark.parametrize("code", sorted(REFUSALS))
def test_known_refusals_are_sentences_without_codes_or_wei(code: str) -> None:
    text = refusal(code, "the coordinator refused: the amount 5 is above the claimable 4 wei")
    assert code not in text and "wei" not in text and "_" not in text
    assert "Nothing was paid" in text and text[0].islower()  # it follows "Rejected: " in the window


def test_an_unknown_refusal_keeps_the_coordinators_words_in_far() -> None:
    text = refusal("odd_refusal", "the coordinator refused: fee is 10000000000000 wei today")
    assert text == "the coordinator refused the claim: fee is 0.00001 FAR today. Nothing was paid"
    assert "odd_refusal" not in text
