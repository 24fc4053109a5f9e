"""Headless core of FarNode Desktop: no Qt is imported anywhere under this package."""
