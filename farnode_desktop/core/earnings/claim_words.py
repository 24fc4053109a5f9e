"""What a claim's problems and the coordinator's refusals say to a provider: plain sentences, amounts in FAR
(never wei, never a reason code)."""

from __future__ import annotations

import re

from farnode_desktop.core.earnings.coordinator_models import format_tokens

NOTHING_PAID = "Nothing was paid"
REVIEW_AGAIN = "review the claim again to see the current figures"

REFUSALS = {
    "above_claimable": "the coordinator refused the claim because it asked for more than is claimable now (the "
                       f"figures changed after the review). {NOTHING_PAID}; {REVIEW_AGAIN}",
    "below_min_claim": f"the coordinator refused the claim because it is below the minimum claim. {NOTHING_PAID}; "
                       "keep serving and claim later",
    "nonce_used": "the coordinator refused the claim because it already received one with the same number. "
                  f"{NOTHING_PAID} twice; {REVIEW_AGAIN}",
    "expired": f"the claim's time limit ran out before the coordinator accepted it. {NOTHING_PAID}; {REVIEW_AGAIN}",
    "fee_mismatch": f"the coordinator's fee changed after the review. {NOTHING_PAID}; {REVIEW_AGAIN}",
    "bad_signature": f"the coordinator could not check your wallet's signature on the claim. {NOTHING_PAID}; try "
                     "again, and if it happens again send the diagnostics to Far Labs",
    "wrong_chain_id": f"the claim was made for another network than the coordinator pays on. {NOTHING_PAID}; "
                      "check the coordinator and chain in Settings",
    "wrong_contract": f"the claim was made for another token contract than the coordinator pays with. "
                      f"{NOTHING_PAID}; check the coordinator and chain in Settings",
}

_WEI = re.compile(r"(\d+)\s*wei\b")


def amounts_in_far(text: str, decimals: int = 18, symbol: str = "FAR") -> str:
    """`... 828000000000000 wei ...` -> `... 0.000828 FAR ...`: any wei figure in a message, in FAR."""
    return _WEI.sub(lambda m: format_tokens(int(m.group(1)), decimals, symbol), text)


def refusal(code: str, message: str, decimals: int = 18, symbol: str = "FAR") -> str:
    """The coordinator's refusal of a claim as a sentence: a known code in its own words, else its message."""
    known = REFUSALS.get(code)
    if known is not None:
        return known
    said = amounts_in_far(message, decimals, symbol).removeprefix("the coordinator refused: ")
    return f"the coordinator refused the claim: {said}. {NOTHING_PAID}"


def amount(wei: int, decimals: int, symbol: str) -> str:
    """An amount as a claim message writes it: FAR with up to 6 decimals."""
    return format_tokens(wei, decimals, symbol)
