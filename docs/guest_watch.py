#!/usr/bin/env python3
"""Watch a VM's ``maintenance-event`` metadata key and log every transition.

The loop a guest agent runs on Compute Engine (a hanging GET with the last ETag, so the server
answers the moment the value changes), pointed at any base URL: a playground rehearsal's VM,
or the real metadata server.

    python docs/guest_watch.py http://127.0.0.1:8000/rehearsals/<id>/<token>/vms/<vm>/
    python docs/guest_watch.py http://metadata.google.internal/        # on a real GCE VM

Each transition is one line on stdout with the wall-clock time (UTC, microseconds):
``2024-05-01T12:00:03.141592+00:00 NONE -> MIGRATE_ON_HOST_MAINTENANCE (etag 3f2a...)``,
or with ``--json`` one JSON object per line: ``{"time": <unix seconds>, "iso": ..., "from": ...,
"to": ..., "etag": ...}``. The first line is the value read at start (``from`` is null).
This is where a real agent would drain connections or checkpoint (on
``MIGRATE_ON_HOST_MAINTENANCE``) and resume (back to ``NONE``).

Standard library only. Exit status: 0 when stopped by ``--transitions``/``--duration`` or
Ctrl-C, 2 on a refused request (403, 404: a wrong URL or a rehearsal that has ended).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime

PATH = "computeMetadata/v1/instance/maintenance-event"


def stamp() -> tuple[float, str]:
    now = time.time()
    return now, datetime.fromtimestamp(now, UTC).isoformat(timespec="microseconds")


def fetch(url: str, timeout: float) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode().strip(), response.headers.get("ETag", "")


def log(args, previous: str | None, value: str, etag: str) -> None:
    now, iso = stamp()
    if args.json:
        line = json.dumps({"time": now, "iso": iso, "from": previous, "to": value, "etag": etag})
    elif previous is None:
        line = f"{iso} {value} (at start, etag {etag})"
    else:
        line = f"{iso} {previous} -> {value} (etag {etag})"
    print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "base_url",
        help="the VM's base URL (ends with /), e.g. "
        "http://127.0.0.1:8000/rehearsals/<id>/<token>/vms/<vm>/",
    )
    parser.add_argument(
        "--timeout-sec",
        type=int,
        default=60,
        help="how long one hanging GET may wait (server side), default 60",
    )
    parser.add_argument(
        "--transitions",
        type=int,
        default=0,
        help="stop after this many transitions (default: never)",
    )
    parser.add_argument(
        "--duration", type=float, default=0, help="stop after this many seconds (default: never)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    base = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    url = urllib.parse.urljoin(base, PATH)
    started = time.monotonic()
    seen = 0
    value = etag = None
    backoff = 0.5
    while True:
        if args.duration and time.monotonic() - started >= args.duration:
            return 0
        query = {}
        if etag is not None:  # the first read is immediate, then hanging GETs
            query = {
                "wait_for_change": "true",
                "last_etag": etag,
                "timeout_sec": str(args.timeout_sec),
            }
            if args.duration:  # never hang past the end
                left = args.duration - (time.monotonic() - started)
                query["timeout_sec"] = str(max(1, min(args.timeout_sec, int(left) + 1)))
        try:
            new_value, new_etag = fetch(
                url + ("?" + urllib.parse.urlencode(query) if query else ""),
                timeout=int(query.get("timeout_sec", 0)) + 10,
            )
        except urllib.error.HTTPError as error:
            if error.code in (403, 404):
                print(
                    f"refused: HTTP {error.code}: {error.read().decode(errors='replace').strip()}",
                    file=sys.stderr,
                )
                return 2
            print(f"HTTP {error.code}; retrying in {backoff:.1f} s", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10)
            continue
        except (urllib.error.URLError, OSError) as error:
            print(f"{error}; retrying in {backoff:.1f} s", file=sys.stderr)
            time.sleep(backoff)
            backoff = min(backoff * 2, 10)
            continue
        backoff = 0.5
        if value is None or new_value != value:
            log(args, value, new_value, new_etag)
            if value is not None:
                seen += 1
        value, etag = new_value, new_etag
        if args.transitions and seen >= args.transitions:
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
