"""Make placer's pytest plugin fixtures available here even when placer is not installed
(an installed placer registers `placer.testing` through its ``pytest11`` entry point)."""

from placer.testing import layout_snapshot

__all__ = ["layout_snapshot"]
