"""Dataset acquisition and parsing; plain Python, no Kedro."""
