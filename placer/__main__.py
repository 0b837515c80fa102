"""``python -m placer``: the same as the ``placer`` command."""

from placer.cli import entry

entry()
