"""Tasks glue a dataset's two views to a model family and a metric for the Trainer."""
