"""`make bench`: the speed of the app measured as ratios in one run (DESIGN §7), never as timed test assertions.

`python -m tests.bench.run --help` lists the options. The modules, in the order a run uses them:

- `datasets`  the real input re-keyed into 10x and 100x copies (cached under var/bench/data/)
- `loading`   a fresh warehouse per size and engine, loaded and given accounts through the product's own CLI
- `server`    gunicorn started and stopped as in production, worker memory read from /proc
- `client`    a logged-in HTTP session and Dash callback bodies built from the served dependencies
- `scenarios` the realistic inputs each callback is called with, and which account calls it
- `measure`   the timing loops: callbacks, the floor, the first page load, throughput
- `reference` the "common approach" (global pandas DataFrames) that the app is compared with
- `report`    targets, the printed table, and the Markdown and JSON files
- `run`       the command line that ties them together and cleans up
- `env`       paths, the product's environment for the CLI and gunicorn, and process memory from /proc
"""
