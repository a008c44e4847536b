"""Run in its own process by test_orphans: a pull that stops dead (until it is SIGKILLed)
once its case rows and attachment files are written but not committed.

    python -m tests.channels.mynaportal.hanging_pull <marker file>

The environment names the database, MEDIA_ROOT and the connection password."""

import sys
import time
from pathlib import Path


def main() -> None:
    import django

    django.setup()
    from madoguchi.applications.signals import events_recorded
    from madoguchi.channels.mynaportal.pull import pull_all

    marker = Path(sys.argv[1])

    def hang(sender, events, **kwargs):
        event = events[0]
        marker.write_text(str(event.application.source_reference))
        time.sleep(600)

    events_recorded.connect(hang, weak=False)
    pull_all()


if __name__ == "__main__":
    main()
