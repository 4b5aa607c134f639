"""Prompt templates shipped with autosolve (package data, read with importlib.resources)."""
