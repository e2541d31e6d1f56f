"""A DataMarket to test against: a Token, three funded contributors who approved the market,
a governance address, and helpers that speak the market's words (`add`, `refund`, `report`,
`take`, `after`).

Imported by the test_datamarket_* files (kept out of conftest.py, which builds the
inference protocol's world).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import boa

from contract_world import CONTRACTS

DAY = 86_400
REFUND_WAIT = 1 * DAY
CLAIM_WAIT = 9 * DAY
N_FEATURES = 8
START = 1_000_000
# perceptron: [0, 1] scores +5 (label 1); [5, 6] scores -5 (label 0)
WEIGHTS = [3, 2, 1, 0, -1, -2, -3, 0]
ONE = [0, 1]
ZERO_X = [5, 6]
PERCEPTRON, CENTROID = 0, 1


@cache
def token_deployer():
    return boa.load_partial(str(CONTRACTS / "Token.vy"))


@cache
def market_deployer():
    return boa.load_partial(str(CONTRACTS / "DataMarket.vy"))


@dataclass
class Market:
    token: object
    market: object
    governance: str
    alice: str
    bob: str
    carol: str

    @property
    def people(self) -> list[str]:
        return [self.alice, self.bob, self.carol]

    def add(self, who: str, features, label: int, wait: int = 60, **kw) -> int:
        """Wait `wait` seconds (the deposit depends on it), then add a sample as `who`."""
        if wait:
            boa.env.time_travel(seconds=wait)
        return self.market.add_data(list(features), label, sender=who, **kw)

    def refund(self, who: str, cid: int, features) -> int:
        return self.market.refund(cid, list(features), sender=who)

    def report(self, who: str, cid: int, features) -> int:
        return self.market.report(cid, list(features), sender=who)

    def take(self, who: str, cid: int) -> int:
        return self.market.take(cid, sender=who)

    @staticmethod
    def after(seconds: int) -> None:
        boa.env.time_travel(seconds=seconds)

    def balances(self) -> dict[str, int]:
        return {p: self.token.balanceOf(p) for p in [*self.people, self.market.address]}

    def assert_conserved(self) -> None:
        """Tokens are conserved and the market holds exactly what is still claimable."""
        total = sum(self.token.balanceOf(p) for p in self.people) + self.token.balanceOf(self.market.address)
        assert total == 3 * START
        held = sum(self.market.contributions(i).claimable for i in range(self.market.contribution_count()))
        assert held == self.market.deposits_held() == self.token.balanceOf(self.market.address)


def build(kind: int = PERCEPTRON, cost_weight: int = 1, init_values=None, init_counts=(0, 0),
          learning_rate: int = 1, intercept: int = 0) -> Market:
    governance = boa.env.generate_address("governance")
    alice, bob, carol = (boa.env.generate_address(n) for n in ("alice", "bob", "carol"))
    token = token_deployer().deploy("brainnet", "BRN", [alice, bob, carol], [START] * 3, governance)
    if init_values is None:
        init_values = WEIGHTS if kind == PERCEPTRON else []
    market = market_deployer().deploy(token.address, governance, kind, N_FEATURES, cost_weight, REFUND_WAIT,
                                      CLAIM_WAIT, learning_rate, intercept, list(init_values), list(init_counts))
    for p in (alice, bob, carol):
        token.approve(market.address, 2**256 - 1, sender=p)
    return Market(token, market, governance, alice, bob, carol)


def events(contract, name: str) -> list:
    return [e for e in contract.get_logs() if type(e).__name__ == name]
