"""The product's interface checked from outside, as an independent acceptance suite would.

Commands run as subprocesses, the daemon against the fakes in ``tests/fakes``,
the HTTP endpoint through ``requests``, the store through ``sqlite3`` and
``psycopg``. Each test names, in words, the promise it holds the code to.
"""
