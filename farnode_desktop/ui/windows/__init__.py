"""The app's windows: thin widgets bound to their view-models."""
