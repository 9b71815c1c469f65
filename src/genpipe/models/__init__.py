"""Model families: one module per model, plain PyTorch / Lightning, no Kedro."""
