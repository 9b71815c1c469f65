"""Scoring generative models: metrics on features, the feature extractors."""
