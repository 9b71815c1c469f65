"""Explanations of tabular models: TreeSHAP, XGBoost importances, LIME,
Integrated Gradients, and their comparison."""
