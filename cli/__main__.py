import sys

from ledgergate.cli import main

sys.exit(main())
