"""brainnet: verified inference and federated training on staked committees."""
__version__ = "0.1.0"
