import sys

from digitize.cli import main

sys.exit(main())
