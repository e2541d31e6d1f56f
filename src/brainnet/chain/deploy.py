"""Deploy the contracts and describe the result in `deployment.json`.

`deployment.json` is what every node and client loads: the chain to reach, the chain id,
contract addresses, a hash of the ABIs they were compiled to, the parameters and the
registered models. A node whose compiled ABIs differ refuses to start.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount

from brainnet.chain.backends import Backend
from brainnet.chain.compile import Artifact, abi_hash, compile_all
from brainnet.chain.signer import Signer
from brainnet.errors import ConfigError
from brainnet.protocol import model_key

TOKEN = 10**18
HOP_AUDIT_MODEL = "shard-hop-audit"          # brainnet.models.hop_audit: recomputes reported shard hops
AUDITED_SHARD_MODELS = ("minilm-l6",)        # sharded models whose hops ShardAudit accepts


@dataclass
class DeployParams:
    """Protocol parameters fixed at deployment (later: behind governance)."""
    supply: int = 1_000_000_000 * TOKEN      # genesis supply, all to the deployer
    min_stake: int = 100 * TOKEN             # stake below this is never drawn
    unbonding_blocks: int = 50               # blocks between begin_unbond and withdraw
    jail_after: int = 3                      # slashes that jail a node
    committee_size: int = 5                  # K
    quorum: int = 3                          # Q: reveals of one value that settle a task
    commit_window: int = 20                  # blocks after the draw to commit
    reveal_window: int = 20                  # blocks after the commit deadline to reveal
    slash_bps: int = 1000                    # share of stake slashed per offence (1/10000)
    min_fee: int = 0
    max_levels: int = 4                      # L: committee levels (K, 2K+1, 4K+3, ...); 1 = BRAIN's rule
    challenge_window: int = 10               # blocks a settled result stays open to the requester's challenge
    challenge_bond: int = 50 * TOKEN         # posted by a challenger; back if the result changes
    # Training (committee-scored federated rounds; see contracts/Training.vy)
    training_committee: int = 5              # scoring committee of a round
    training_quorum: int = 3                 # matching aggregate confirmations that record a version
    training_committee_bps: int = 1000       # share of a round's pool paid to the committee seats
    training_slash_bps: int = 1000           # no-show trainers and silent members
    training_fraud_slash_bps: int = 5000     # an upheld proof-of-training challenge
    training_challenge_window: int = 20      # blocks after a round's confirm deadline to challenge
    training_vote_window: int = 10           # blocks the committee has to vote on a challenge
    training_challenge_bond: int = 10 * TOKEN
    slash_burn_bps: int = 5000               # share of every slash burned; the rest goes to the treasury
    # Emission (fixed schedule): epoch e mints epoch_emission * (1 - emission_decay_bps/10000)**e
    epoch_blocks: int = 100                  # blocks per reward epoch
    epoch_emission: int = 10_000 * TOKEN     # tokens epoch 0 may mint (split into the work pools)
    emission_decay_bps: int = 100            # each epoch mints 1 % less than the one before
    inference_weight_bps: int = 7000         # inference pool share; training gets the rest
    # Governance
    proposal_threshold: int = 10_000 * TOKEN # votes (tokens at the snapshot) needed to propose
    gov_quorum_bps: int = 400                # votes for needed: 4 % of the supply at the snapshot
    voting_period: int = 50                  # blocks a vote stays open
    timelock_blocks: int = 20                # blocks between the end of the vote and execution
    grace_blocks: int = 500                  # blocks a passed proposal stays executable
    # ShardAudit (a reported hop record is recomputed by an audit task; see contracts/ShardAudit.vy)
    audit_bond: int = 100 * TOKEN            # a reporter's bond: back (plus a reward) when upheld, else lost
    audit_fee: int = 1 * TOKEN               # the audit task's fee, paid by the reporter (pays the committee)
    audit_slash_bps: int = 2000              # share of a node's stake an upheld audit slashes
    audit_reward_bps: int = 5000             # share of the slashed amount paid to the reporter from the bounty

    @classmethod
    def from_dict(cls, data: dict) -> "DeployParams":
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown deployment parameters: {sorted(unknown)}")
        return cls(**data)


@dataclass
class Deployment:
    chain: str                      # backend spec to reconnect: embedded | rpc:<url>
    chain_id: int
    deploy_block: int
    deployer: str
    addresses: dict[str, str]
    abi_hash: str
    params: DeployParams
    models: dict[str, dict] = field(default_factory=dict)   # name -> {"id", "weights_sha256"}

    def model_id(self, name_or_id: str) -> bytes:
        if name_or_id in self.models:
            return bytes.fromhex(self.models[name_or_id]["id"][2:])
        if name_or_id.startswith("0x") and len(name_or_id) == 66:
            return bytes.fromhex(name_or_id[2:])
        known = ", ".join(self.models) or "none"
        raise ConfigError(f"model {name_or_id!r} is not in this deployment (known: {known})")

    def to_json(self) -> str:
        data = asdict(self)
        return json.dumps(data, indent=2, sort_keys=True)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as f:
            f.write(self.to_json())
        os.replace(f.name, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Deployment":
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"deployment file {path} not found; run `brainnet deploy` or `brainnet devnet up` first")
        try:
            data = json.loads(path.read_text())
            data["params"] = DeployParams.from_dict(data["params"])
            return cls(**data)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConfigError(f"{path} is not a brainnet deployment file ({exc})") from exc


def deploy(
    backend: Backend,
    params: DeployParams | None = None,
    models: dict[str, bytes | tuple[bytes, int]] | None = None,
    deployer: LocalAccount | None = None,
) -> Deployment:
    """Deploy Token, Registry, Inference, Models, Training, Emission and Governance; wire them
    (Inference and Training authorized in the Registry, Training in Models); register `models`.

    `models` maps a name to its weights' sha256 (an `exact` model) or to
    (weights sha256, tolerance in bits) (a `near` model).

    Who holds what afterwards: Governance is the `governance` of Registry, Inference,
    Training and Emission (every parameter changes only by a proposal); Inference and
    Training report settled work to Emission, the Token's only
    minter. The deployer keeps the Registry's `owner` role, the bootstrap duties that
    are not parameters: registering models and authorizing protocol contracts.
    ShardAudit is authorized to slash; when `models` has a sharded model it audits
    (minilm-l6), the `shard-hop-audit` model is registered too (near, its runtime's
    tolerance) and ShardAudit accepts reports on that model's hops. Governance governs
    ShardAudit's parameters (`audit_*`); the deployer keeps its choice of audited models.
    """
    params = params or DeployParams()
    deployer = deployer or backend.funder
    if deployer is None:
        raise ConfigError("no deployer account: pass --key with a funded account for this chain")
    artifacts = compile_all()
    signer = Signer(backend.w3, deployer)
    deploy_block = backend.w3.eth.block_number

    def create(name: str, *args, gas: int = 6_000_000) -> str:
        art: Artifact = artifacts[name]
        factory = backend.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        data = factory.constructor(*args)._encode_data_in_transaction(*args)
        return signer.send({"data": data}, gas=gas, label=f"deploy {name}").contract_address

    token = create("Token", "brainnet", "BRN", [deployer.address], [params.supply], deployer.address)
    registry = create("Registry", token, deployer.address, params.min_stake, params.unbonding_blocks, params.jail_after)
    inference = create("Inference", token, registry, params.committee_size, params.quorum,
                       params.commit_window, params.reveal_window, params.slash_bps, params.min_fee,
                       params.max_levels, params.challenge_window, params.challenge_bond)
    models_addr = create("Models")
    training = create("Training", token, registry, models_addr, params.training_committee, params.training_quorum,
                      params.training_committee_bps, params.training_slash_bps, params.training_fraud_slash_bps,
                      params.training_challenge_window, params.training_vote_window, params.training_challenge_bond,
                      gas=12_000_000)
    reg = backend.w3.eth.contract(address=registry, abi=artifacts["Registry"].abi)
    signer.send({"to": registry, "data": reg.functions.authorize(inference, True)._encode_transaction_data()}, label="authorize")
    signer.send({"to": registry, "data": reg.functions.authorize(training, True)._encode_transaction_data()}, label="authorize")
    mod = backend.w3.eth.contract(address=models_addr, abi=artifacts["Models"].abi)
    signer.send({"to": models_addr, "data": mod.functions.authorize(training, True)._encode_transaction_data()}, label="authorize")

    def call(address: str, name: str, fn_name: str, *args) -> None:
        fn = backend.w3.eth.contract(address=address, abi=artifacts[name].abi).functions[fn_name](*args)
        signer.send({"to": address, "data": fn._encode_transaction_data()}, label=f"{name}.{fn_name}")

    emission = create("Emission", token, params.epoch_blocks, params.epoch_emission, params.emission_decay_bps,
                      params.inference_weight_bps)
    call(emission, "Emission", "set_param", 2, int(inference, 16))       # Inference reports inference work
    call(inference, "Inference", "set_param", 10, int(emission, 16))     # ... to Emission
    call(emission, "Emission", "set_param", 3, int(training, 16))        # Training reports training work
    call(training, "Training", "set_param", 9, int(emission, 16))        # ... to Emission
    if params.slash_burn_bps:
        call(registry, "Registry", "set_param", 4, params.slash_burn_bps)
    # ShardAudit: slashes a shard node that signed a corrupt hop, through an audit task on the hop-audit
    # model (registered below, and the sharded models it can recompute marked audited, when one is deployed);
    # its parameters are governed like the others'
    shard_audit = create("ShardAudit", token, registry, inference, model_key(HOP_AUDIT_MODEL), params.audit_bond,
                         params.audit_fee, params.audit_slash_bps, params.audit_reward_bps)
    signer.send({"to": registry, "data": reg.functions.authorize(shard_audit, True)._encode_transaction_data()},
                label="authorize")
    governance = create("Governance", token, [registry, inference, emission, training, shard_audit],
                        params.proposal_threshold,
                        params.gov_quorum_bps, params.voting_period, params.timelock_blocks, params.grace_blocks)
    for address, name in ((registry, "Registry"), (inference, "Inference"), (emission, "Emission"),
                          (training, "Training"), (shard_audit, "ShardAudit")):
        call(address, name, "set_governance", governance)
    call(token, "Token", "set_minter", emission)
    models = dict(models or {})
    audited = [name for name in models if name in AUDITED_SHARD_MODELS]
    if audited and HOP_AUDIT_MODEL not in models:
        from brainnet.models.hop_audit import HopAuditRuntime

        models[HOP_AUDIT_MODEL] = (bytes.fromhex(HopAuditRuntime.default_weights()), HopAuditRuntime.tolerance)
    for name in audited:
        call(shard_audit, "ShardAudit", "set_audited", model_key(name), True)
    registered = {}
    for name, spec in (models or {}).items():
        weights_hash, tolerance = spec if isinstance(spec, tuple) else (spec, None)
        mid = model_key(name)
        fn = reg.functions.register_model(mid, weights_hash) if tolerance is None \
            else reg.functions.register_near_model(mid, weights_hash, tolerance)
        signer.send({"to": registry, "data": fn._encode_transaction_data()}, label="register_model")
        registered[name] = {"id": "0x" + mid.hex(), "weights_sha256": weights_hash.hex(),
                            "mode": "exact" if tolerance is None else "near", "tolerance": tolerance or 0}
    return Deployment(
        chain=backend.spec, chain_id=backend.chain_id, deploy_block=deploy_block, deployer=deployer.address,
        addresses={"Token": token, "Registry": registry, "Inference": inference, "Models": models_addr,
                   "Training": training, "Emission": emission, "Governance": governance, "ShardAudit": shard_audit},
        abi_hash=abi_hash(artifacts), params=params, models=registered,
    )
