import sys

from proxier.cli import main

sys.exit(main())
