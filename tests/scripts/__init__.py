"""Tests of the scripts in scripts/ that the app does not import (the GPU check and its carried wheels)."""
