"""Fleet runs: many targets, reported on a schedule (`toolman-kit batch FLEET.yaml`).

    fleetfile   the fleet file and its schema (toolman_kit/schemas/fleet.schema.json)
    task        run_target: one target in, a small Outcome out (the same on a local pool or Dask)
    runner      run_batch: the tasks, the lock, then what only the client writes
    history     history.csv, summary.json, `latest` links, pruning
    page        the fleet page, DIR/index.html
    command     the `batch` subcommand

Nothing here is imported by `import toolman_kit`; Dask only when a scheduler is given.
"""
