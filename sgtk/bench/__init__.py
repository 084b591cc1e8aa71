"""Each hot path beside the fastest reference a careful user would write, timed in one process.

:mod:`sgtk.bench.core` holds the row type and the timing; each neighbour module holds a family
of rows; :func:`sgtk.bench.suite.run_bench` runs them all.
"""
