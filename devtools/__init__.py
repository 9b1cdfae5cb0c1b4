"""What the tests and the benchmarks both run, kept out of both so neither imports the other.

`processes` starts the real redis-server and gunicorn, `slow_clients` attacks and measures the
service as slow clients do, `chromium` names the browser and its flags, `files` writes and hashes
large random files. Neither shipped (the wheel packs `server` and `onetimeshare` only) nor
test code: `tests/` and `bench/` import from here, never from each other.
"""
