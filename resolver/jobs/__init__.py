"""CLI verbs beside a running server: while `resolver serve` holds a store (DuckDB lets one
process write a file), a verb on that store runs inside the server as a job.

- control: the control file `DB.serve.json` the server writes once listening (pid, URL, token).
- verbs: which verbs run as jobs, and how a command line is made to run in another process.
- capture: each job's stdout and stderr, kept apart from the server's and from other jobs'.
- runner: a job run in the server (in a worker thread, writers under the one write lock).
- client: the CLI's side: find the server, send the line, print what comes back.

docs/store.md, "CLI verbs beside a running server", says why and what a job can do.
"""
