"""Fixtures for the titanoboa contract tests.

The contracts are compiled and deployed once per session: a Token, a Registry with two
models, an Inference contract (committee of 5, quorum 3) and eight staked nodes serving
`MODEL`. Every test runs inside `boa.env.anchor()`, so whatever it does (transactions,
time travel) is rolled back before the next one.
"""
from __future__ import annotations

import boa
import pytest

from contract_world import Deployers, World


@pytest.fixture(scope="session")
def deployers() -> Deployers:
    return Deployers()


@pytest.fixture(scope="session")
def world(deployers) -> World:
    return deployers.world()


@pytest.fixture(autouse=True)
def _rollback(world):
    nodes, accounts = list(world.nodes), list(world.accounts)
    with boa.env.anchor():
        yield
    world.nodes[:], world.accounts[:] = nodes, accounts


@pytest.fixture
def token(world):
    return world.token


@pytest.fixture
def registry(world):
    return world.registry


@pytest.fixture
def inference(world):
    return world.inference
