"""Monte Carlo: swap groups (which sites may change to what), chains, temperature schedules."""
from .chain import Chain, SweepResult
from .groups import SwapGroups
from .schedule import KB, temperature_schedule

__all__ = ["KB", "Chain", "SwapGroups", "SweepResult", "temperature_schedule"]
