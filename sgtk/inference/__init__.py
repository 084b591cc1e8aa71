"""Using a trained model: sampling text, predicting molecules, exporting and loading."""
