"""``python -m bot`` is the ``salebell`` command."""

import sys

from .cli import main

sys.exit(main())
