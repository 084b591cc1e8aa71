from sgtk.models.predictor import MODELS, Predictor

__all__ = ["MODELS", "Predictor"]
