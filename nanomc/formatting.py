"""How numbers read in nanomc's messages, summaries, reports and plots: temperatures and counts."""
from __future__ import annotations

import math


def format_temperature(temperature: float) -> str:
    """A temperature (K) to 0.1 K, without a trailing ".0": 300, 396.9, 468 (for 467.97); "–" when unknown."""
    if not math.isfinite(temperature):
        return "–"
    text = f"{temperature:.1f}"
    return text[:-2] if text.endswith(".0") else text


def plural(count: int, noun: str) -> str:
    """"1 sweep", "4 sweeps": a count and a noun that takes an s in the plural."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
