"""The developer's front door: `brainnet.Client`."""
from brainnet.sdk.client import Client, InferenceResult, Submitted

__all__ = ["Client", "InferenceResult", "Submitted"]
