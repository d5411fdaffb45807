"""Training and measuring the sentiment model: the shipped model, at build time (train.py); the
install's own, adapted to the team's corrections by the retraining job (adapt.py); and any model
against a labelled file, or classifying lines for scripts (evaluate.py). Nothing here runs when a
response is classified: the model in use is read by sentiment_model.py and learning.py."""
