"""Every parameter governance can change, by name: which contract holds it, its `set_param`
id, and how to read its live value.

One table serves `brainnet propose` (name -> target and id), `brainnet params` (read
them all) and the tests, so the ids in the contracts (P_* constants) are written down
in exactly one Python place.
"""
from __future__ import annotations

from dataclasses import dataclass

from brainnet.errors import ConfigError


@dataclass(frozen=True)
class Param:
    name: str           # what users call it: `brainnet propose inference.committee_size 7`
    contract: str       # Registry | Inference | Training | Emission | Governance | ShardAudit
    param_id: int       # the P_* constant of that contract
    getter: str | None  # view that reads it (None: a write-only action, e.g. adding a source)
    kind: str = "int"   # int | address | token (18 decimals) | bps
    help: str = ""


PARAMS: tuple[Param, ...] = (
    Param("registry.min_stake", "Registry", 1, "min_stake", "token", "stake below this is never drawn"),
    Param("registry.unbonding_blocks", "Registry", 2, "unbonding_blocks", "int", "blocks from begin_unbond to withdraw"),
    Param("registry.jail_after", "Registry", 3, "jail_after", "int", "slashes that jail a node"),
    Param("registry.slash_burn_bps", "Registry", 4, "slash_burn_bps", "bps", "share of a slash burned; the rest to the treasury"),
    Param("registry.capability_stake.inference", "Registry", 5, "capability_stake:1", "token", "minimum stake to declare inference"),
    Param("registry.capability_stake.training", "Registry", 6, "capability_stake:2", "token", "minimum stake to declare training"),
    Param("registry.capability_stake.shard", "Registry", 7, "capability_stake:4", "token", "minimum stake to declare sharded serving"),
    Param("registry.treasury", "Registry", 8, "treasury", "address", "receives the unburned part of slashes"),
    Param("inference.committee_size", "Inference", 1, "committee_size", "int", "K; also resets the quorum to K//2+1"),
    Param("inference.quorum", "Inference", 2, "quorum", "int", "Q: agreeing reveals that settle level 0"),
    Param("inference.commit_window", "Inference", 3, "commit_window", "int", "blocks to commit after the draw"),
    Param("inference.reveal_window", "Inference", 4, "reveal_window", "int", "blocks to reveal after the commit deadline"),
    Param("inference.slash_bps", "Inference", 5, "slash_bps", "bps", "share of stake slashed per offence"),
    Param("inference.min_fee", "Inference", 6, "min_fee", "token", "smallest fee a task may escrow"),
    Param("inference.max_levels", "Inference", 7, "max_levels", "int", "escalation levels L"),
    Param("inference.challenge_window", "Inference", 8, "challenge_window", "int", "blocks a settled result stays open to a challenge"),
    Param("inference.challenge_bond", "Inference", 9, "challenge_bond", "token", "bond a challenger posts"),
    Param("inference.emission", "Inference", 10, "emission", "address", "Emission contract told about settled work"),
    Param("training.committee_size", "Training", 1, "committee_size", "int", "scoring committee K of a round; also resets the confirm quorum to K//2+1"),
    Param("training.confirm_quorum", "Training", 2, "confirm_quorum", "int", "matching aggregate confirmations that record a version"),
    Param("training.committee_bps", "Training", 3, "committee_bps", "bps", "share of a round's pool paid to the committee seats"),
    Param("training.slash_bps", "Training", 4, "slash_bps", "bps", "share of stake slashed from no-show trainers and members"),
    Param("training.fraud_slash_bps", "Training", 5, "fraud_slash_bps", "bps", "share of stake slashed by an upheld proof-of-training challenge"),
    Param("training.challenge_window", "Training", 6, "challenge_window", "int", "blocks after a round's confirm deadline to challenge an update"),
    Param("training.vote_window", "Training", 7, "vote_window", "int", "blocks the committee has to vote on a challenge"),
    Param("training.challenge_bond", "Training", 8, "challenge_bond", "token", "bond a proof-of-training challenger posts"),
    Param("training.emission", "Training", 9, "emission", "address", "Emission contract told about accepted updates"),
    Param("emission.inference_weight_bps", "Emission", 1, "inference_weight_bps", "bps", "inference pool share; training gets the rest"),
    Param("emission.add_inference_source", "Emission", 2, None, "address", "allow a contract to report inference work"),
    Param("emission.add_training_source", "Emission", 3, None, "address", "allow a contract to report training work"),
    Param("emission.remove_source", "Emission", 4, None, "address", "stop a contract reporting work"),
    Param("shardaudit.bond", "ShardAudit", 1, "bond", "token", "bond a reporter of a corrupt shard hop posts"),
    Param("shardaudit.fee", "ShardAudit", 2, "fee", "token", "fee of a hop's audit task, paid by the reporter"),
    Param("shardaudit.slash_bps", "ShardAudit", 3, "slash_bps", "bps", "share of stake an upheld hop audit slashes"),
    Param("shardaudit.reward_bps", "ShardAudit", 4, "reward_bps", "bps", "share of that slash paid to the reporter from the bounty"),
    Param("governance.proposal_threshold", "Governance", 1, "proposal_threshold", "token", "votes needed to propose"),
    Param("governance.quorum_bps", "Governance", 2, "quorum_bps", "bps", "votes for needed, share of supply at the snapshot"),
    Param("governance.voting_period", "Governance", 3, "voting_period", "int", "blocks a vote stays open"),
    Param("governance.timelock_blocks", "Governance", 4, "timelock_blocks", "int", "blocks between the vote's end and execution"),
    Param("governance.grace_blocks", "Governance", 5, "grace_blocks", "int", "blocks a passed proposal stays executable"),
    Param("governance.add_target", "Governance", 6, None, "address", "let proposals change another contract (e.g. DataMarket)"),
    Param("governance.remove_target", "Governance", 7, None, "address", "stop proposals changing a contract"),
)
# fixed at deployment, shown by `brainnet params` but no proposal changes them
FIXED: tuple[tuple[str, str, str, str], ...] = (
    ("emission.epoch_blocks", "Emission", "epoch_blocks", "int"),
    ("emission.initial_emission", "Emission", "initial_emission", "token"),
    ("emission.decay_bps", "Emission", "decay_bps", "bps"),
    ("emission.genesis_block", "Emission", "genesis_block", "int"),
)
BY_NAME = {p.name: p for p in PARAMS}


def lookup(name: str) -> Param:
    try:
        return BY_NAME[name]
    except KeyError:
        known = ", ".join(p.name for p in PARAMS)
        raise ConfigError(f"unknown parameter {name!r}; run `brainnet params` to list them (known: {known})") from None


def parse_value(param: Param, text: str) -> int:
    """A proposal's value as the uint256 the contract receives: tokens in BRN, addresses as 0x…"""
    try:
        if param.kind == "address":
            if not (text.startswith("0x") and len(text) == 42):
                raise ValueError
            return int(text, 16)
        if param.kind == "token":
            from decimal import Decimal

            return int(Decimal(text) * 10**18)
        value = int(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        hint = {"address": "a 0x-address", "token": "an amount of BRN, e.g. 150 or 0.5",
                "bps": "an integer in 1/10000 (e.g. 2500 = 25 %)"}.get(param.kind, "a non-negative integer")
        raise ConfigError(f"{param.name} takes {hint}, not {text!r}") from None


def read(contract, getter: str):
    """Call a view named in the table ('capability_stake:2' passes 2)."""
    name, _, arg = getter.partition(":")
    fn = getattr(contract.functions, name)
    return (fn(int(arg)) if arg else fn()).call()
