"""Federated training, pure: data splits, small MLPs, deterministic local training, client
behaviours (attacks), aggregation functions and strategies, proof of training, and a
chain-free round loop. Imports nothing from chain/ or node/; the on-chain runner drives
the per-round pieces in `brainnet.train.rounds` through the contracts."""
