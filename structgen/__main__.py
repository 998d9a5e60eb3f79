"""``python -m structgen``: the command line (:mod:`structgen.cli`), as the
``structgen`` command."""

from .cli import main

raise SystemExit(main())
