"""The ``west placer`` extension command: ``west-commands.yml`` and ``command.py``, shipped
in the wheel for west to load by path. Nothing in placer imports ``command`` (it needs
``west``, which placer itself never imports)."""
