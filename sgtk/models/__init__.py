"""Task models. ``sgtk.models.registry`` is the table of every model (and imports no torch)."""


def __getattr__(name: str):
    # Lazy, so that importing the registry (for `sgtk --help`) does not load torch.
    if name == "Predictor":
        from sgtk.models.predictor import Predictor

        return Predictor
    raise AttributeError(name)


__all__ = ["Predictor"]
