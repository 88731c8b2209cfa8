"""A study planned and run: cells, tasks, executors (serial, processes, dask) and the driver."""
