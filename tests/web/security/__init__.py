"""Bad input and abuse, as a specification: one module per concern, one test per rule and per
ownership boundary.

- ``test_ownership.py``: every page, fragment, JSON endpoint, export and action of a run, a
  fleet, a fleet run and a sweep, for the owner and staff (allowed) and for a signed-in stranger
  and an anonymous visitor (404, nothing changed); lists; anonymous ownership; adoption at
  sign-up; rows from before accounts.
- ``test_ownership_ws.py``: both WebSocket streams, the same visitors, and the Origin check.
- ``test_rehearsals.py``: rehearsal pages of a signed-in user; the guest token API unchanged.
- ``test_csrf.py``: every form refuses a POST without the token; the only exempt views.
- ``test_escaping.py``, ``test_escaping_browser.py``: hostile names in pages, embedded JSON,
  the CSV and the charts (headless Chromium).
- ``test_limits.py``: rate limits, request-body and upload caps, run budgets, field caps.
- ``test_fuzz.py``: hypothesis over every form, the import and query parameters; hostile files.
- ``test_accounts.py``: sign in, out, up.
- ``test_production.py``: ``check --deploy`` and what a production server sends.
"""
