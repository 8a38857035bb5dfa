"""``python -m surroundyou``: the same command line as the ``surroundyou`` script."""

import sys

from .cli import main

sys.exit(main())
