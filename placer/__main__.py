"""``python -m placer``: the same as the ``placer`` command."""

import sys

from placer.cli import main

sys.exit(main())
