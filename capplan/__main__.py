"""``python -m capplan``: the same as the ``capplan`` command."""

from capplan.cli import main

main()
