"""brainnet: verified inference and federated training on staked committees."""
__version__ = "0.1.0"


def __getattr__(name: str):
    # `from brainnet import Client` without importing web3/torch for every `import brainnet`
    if name in ("Client", "InferenceResult"):
        from brainnet import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'brainnet' has no attribute {name!r}")
