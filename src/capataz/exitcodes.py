"""Exit codes of the console scripts, named once so every entry point agrees.

They follow the LSB conventions Supervisor's tools use, plus Laravel's worker
codes where a queue worker has its own meaning.
"""

from typing import Final

OK: Final = 0
FAILURE: Final = 1
USAGE: Final = 2  # bad arguments or an invalid configuration file
NOT_BUILT: Final = 70  # EX_SOFTWARE: the command exists but its feature has not landed yet
MEMORY_EXCEEDED: Final = 12  # Laravel's queue:work --memory exit code

