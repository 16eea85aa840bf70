"""gradkit benchmarks: ratios against raw NumPy and PyTorch measured in the same run."""
