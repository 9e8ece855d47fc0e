"""`make loadtest`: a bounded load test with every response checked against its viewer's scope (issue 7).

`python -m tests.load.run --help` lists the options; `test_load_short.py` is the ~10 users x 15 s version that
runs in `make test`. The modules:

- `checks`  what a response may contain for each kind of account (payers, patients, hospice, figures)
- `users`   the virtual users: login, page visits, filter changes, downloads, forged requests; the recorder
- `harness` warehouse, accounts, Redis, gunicorn (reusing tests/bench's helpers), discovery, running the users
- `report`  totals, percentiles per action type and per role, leaks; the table, Markdown and JSON
- `run`     the command line
"""
