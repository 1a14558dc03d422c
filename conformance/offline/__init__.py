"""`hems-conformance check`: where recorded payloads come from (`sources`, `remote`, `parquet`, `har`), the
partitions of the inputs (`parts`), judging one into a mergeable partial (`partial`) here, in a process pool
(`parallel`) or on Dask (`dask_engine`), writing them as they come (`stream`), the evidence kept on the way (`evidence`),
and the `check` command's driver and its reports (`check_command`). fsspec, pyarrow and Dask are imported only by the paths that need them.

House rules: imports only `conformance.report`, `conformance.contract` and `conformance.errors`, so an
offline check loads no HTTP client, no pytest and no Schemathesis.
"""
