"""`python -m bench`, with this project's packages found before the working directory's folders.

`python -m` puts the working directory first on sys.path, and an editable
install's finder is asked only after it: a folder of the user's named
`strategies/` or `reports/` there would be imported instead of this
project's. User modules (`--model package.module:function`) are still looked
up in the working directory (bench.user_code).
"""

import sys
from pathlib import Path

if sys.path and Path(sys.path[0] or ".").resolve() != Path(__file__).resolve().parents[1]:
    del sys.path[0]

from bench.commands.cli import entry_point  # noqa: E402

entry_point()
