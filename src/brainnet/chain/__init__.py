"""Chain access: compile, deploy, bindings, backends. The only package that imports web3."""
from brainnet.chain.backends import AnvilBackend, Backend, EmbeddedBackend, RpcBackend, open_backend
from brainnet.chain.contracts import Actor, AuditView, Contracts, Event, NodeView, ShardView, Status, TaskView
from brainnet.chain.deploy import TOKEN, DeployParams, Deployment, deploy

__all__ = [
    "AnvilBackend", "Backend", "EmbeddedBackend", "RpcBackend", "open_backend",
    "Actor", "AuditView", "Contracts", "Event", "NodeView", "ShardView", "Status", "TaskView",
    "TOKEN", "DeployParams", "Deployment", "deploy",
]
