"""The placement solver: every LLEXT heap section placed exactly, or a precise reason why not.

``place(board, config)`` returns a `placer.layout.Layout`. The objective is stated in
`placer.solve.core`; the exact search and its complexity in `placer.solve.search`.
"""

from __future__ import annotations

from placer.solve.core import Pin, place
from placer.solve.default import Order
from placer.target import SIZE_OPTION

__all__ = ["SIZE_OPTION", "Order", "Pin", "place"]
