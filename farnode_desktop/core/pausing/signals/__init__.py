"""Readers of what the provider is doing at the PC (idle time, Steam's game, a full-screen app), one per OS and desktop."""
