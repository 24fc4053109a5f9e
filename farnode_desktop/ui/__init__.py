"""The desktop app: tray, windows, view-models and the bridge from core events to Qt signals (the only Qt user)."""
