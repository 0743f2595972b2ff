"""`python -m evals.cli ...` is the `rft-evals` command."""

import sys

from evals.cli.dispatch import main

if __name__ == "__main__":
    sys.exit(main())
