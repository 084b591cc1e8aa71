"""The graph view of a sequence: path graphs (:mod:`sgtk.graphs.views`) and the other
sequence graphs a model may propagate over (:mod:`sgtk.graphs.builders`)."""
