"""The fixed choices of sgtk's options, in one torch-free place (``--help`` lists them).

Models are not here: ``sgtk.models.registry`` names them.
"""

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")
SCHEDULES = ("none", "step", "linear")
READOUTS = ("last", "mean", "sum", "max")
INITS = ("auto", "xavier", "orthogonal", "forget", "chrono")
LOGGERS = ("jsonl", "csv", "tensorboard", "wandb", "mlflow")  # several: comma-separated
