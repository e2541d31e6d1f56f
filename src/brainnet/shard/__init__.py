"""Sharded inference: a model too big for one node served by several (blocks, activation
codec, low-rank weights, route planning, the shard server and the remote client)."""
