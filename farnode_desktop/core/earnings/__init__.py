"""Money: the wallet and its keyring, EIP-712 messages, the coordinator, claims, on-chain payouts, the ledger."""
