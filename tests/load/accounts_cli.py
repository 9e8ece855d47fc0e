"""`python -m tests.load.accounts_cli` (used by the harness): the product's `users create` command, once per load
test account, in one process.

It runs exactly the command an operator runs (`flask --app wsgi users create NAME --role ROLE [--payer P]
[--specialty S] --password-stdin`), through Flask's CLI runner on the app `wsgi.py` builds from the environment,
so that the seven accounts cost one start-up of the app instead of seven (seconds each on a small machine).
Arguments: a JSON list of `users create` argument lists; the password on stdin. Exit status 1 with the command's
output when one of them fails.
"""
from __future__ import annotations

import json
import sys


def main() -> int:
    from wsgi import server

    password = sys.stdin.readline().rstrip("\n")
    runner = server.test_cli_runner()
    for args in json.loads(sys.argv[1]):
        result = runner.invoke(args=args, input=password + "\n")
        if result.exit_code != 0:
            print(f"`flask --app wsgi {' '.join(args)}` failed ({result.exit_code}):\n{result.output}",
                  file=sys.stderr)
            if result.exception and not isinstance(result.exception, SystemExit):
                print(repr(result.exception), file=sys.stderr)
            return 1
        print(result.output.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
