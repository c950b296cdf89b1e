"""Entry point for ``python -m mailclient``."""

import sys

from mailclient.app.main import main

sys.exit(main())
