"""View-models: the state and actions behind each window, drivable by tests without widgets."""
