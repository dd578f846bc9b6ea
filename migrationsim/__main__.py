import os
import sys

from .cli import main

try:
    status = main()
    sys.stdout.flush()  # inside the try: a closed pipe is found here, not at exit
except BrokenPipeError:
    # the reader stopped reading (``... | head -1``): that is no error of ours, so no traceback;
    # stdout goes to /dev/null so Python's own flush at exit does not fail again (Python's
    # documentation, "Note on SIGPIPE"), and the status says the output was cut short
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)
sys.exit(status)
