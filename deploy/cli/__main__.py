"""``python -m deploy.cli``: how the supervisor and the tests start tubestream's processes."""

import sys

from deploy.cli.main import main

sys.exit(main())
