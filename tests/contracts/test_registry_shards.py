"""Registry shard announcements: announce_shard, withdraw_shard, shard_of, shards_of.

A node with the shard capability announces the block range of a model it serves (with its
memory, measured throughput and endpoint); clients list the announcements of active nodes
to plan routes (brainnet.shard.route)."""
import boa

from contract_world import MIN_STAKE, MODEL, OTHER_MODEL, events, keccak

CAP_INFERENCE, CAP_TRAINING, CAP_SHARD = 1, 2, 4
MAX_SHARDS = 64


def shard_node(world, i: int = 0):
    node = world.nodes[i]
    world.registry.set_capabilities(CAP_INFERENCE | CAP_SHARD, sender=node)
    return node


def announce(world, node, start=0, end=4, memory_mb=512, throughput=20_000, endpoint="http://127.0.0.1:9100",
             model=MODEL):
    world.registry.announce_shard(model, start, end, memory_mb, throughput, endpoint, sender=node)


def as_tuple(shard):
    return (shard.node, shard.model_id, shard.start, shard.end, shard.memory_mb, shard.throughput, shard.endpoint)


def test_announce_lists_the_shard_and_logs_it(world, registry):
    node = shard_node(world)
    announce(world, node, 2, 5, 768, 31_000, "http://127.0.0.1:9101")
    (log,) = events(registry, "ShardAnnounced")
    assert (log.node, log.model_id, log.start, log.end, log.memory_mb, log.throughput, log.endpoint) == (
        node, MODEL, 2, 5, 768, 31_000, "http://127.0.0.1:9101")
    expected = (node, MODEL, 2, 5, 768, 31_000, "http://127.0.0.1:9101")
    assert as_tuple(registry.shard_of(node, MODEL)) == expected
    assert registry.shard_of(node, MODEL).announced_at == boa.env.evm.patch.block_number
    assert [as_tuple(s) for s in registry.shards_of(MODEL)] == [expected]
    assert registry.shards_of(OTHER_MODEL) == []


def test_announcing_again_replaces_the_shard(world, registry):
    node = shard_node(world)
    announce(world, node, 0, 4)
    announce(world, node, 4, 6, throughput=7)
    shards = registry.shards_of(MODEL)
    assert len(shards) == 1 and (shards[0].start, shards[0].end, shards[0].throughput) == (4, 6, 7)


def test_a_node_announces_several_models_and_many_nodes_one_model(world, registry):
    a, b = shard_node(world, 0), shard_node(world, 1)
    announce(world, a, 0, 4)
    announce(world, a, 0, 2, model=OTHER_MODEL)
    announce(world, b, 4, 8, endpoint="http://127.0.0.1:9102")
    assert [s.node for s in registry.shards_of(MODEL)] == [a, b]          # announcement order
    assert [s.node for s in registry.shards_of(OTHER_MODEL)] == [a]


def test_inactive_nodes_drop_out_of_the_listing(world, registry):
    a, b = shard_node(world, 0), shard_node(world, 1)
    announce(world, a)
    announce(world, b, 4, 8)
    registry.begin_unbond(sender=a)
    assert [s.node for s in registry.shards_of(MODEL)] == [b]
    assert registry.shard_of(a, MODEL).node == a                           # still readable per node
    registry.set_capabilities(CAP_INFERENCE, sender=b)                     # no longer serves shards
    assert registry.shards_of(MODEL) == []


def test_jailed_node_drops_out(world, registry):
    node = shard_node(world)
    announce(world, node)
    world.registry.authorize(world.owner, True, sender=world.owner)
    for _ in range(3):                                                     # JAIL_AFTER slashes
        registry.slash(node, 1, "test", sender=world.owner)
    assert registry.shards_of(MODEL) == []


def test_withdraw_shard(world, registry):
    a, b, c = (shard_node(world, i) for i in range(3))
    for i, n in enumerate((a, b, c)):
        announce(world, n, endpoint=f"http://127.0.0.1:{9200 + i}")
    registry.withdraw_shard(MODEL, sender=b)
    (log,) = events(registry, "ShardWithdrawn")
    assert (log.node, log.model_id) == (b, MODEL)
    assert [s.node for s in registry.shards_of(MODEL)] == [a, c]
    assert registry.shard_of(b, MODEL).node == "0x" + "00" * 20
    announce(world, b)                                                    # may come back, listed last
    assert [s.node for s in registry.shards_of(MODEL)] == [a, c, b]


def test_withdraw_shard_reverts_without_an_announcement(world, registry):
    node = shard_node(world)
    with boa.reverts("registry: no shard announced for this model"):
        registry.withdraw_shard(MODEL, sender=node)


def test_announce_reverts(world, registry):
    with boa.reverts("registry: node not registered"):
        announce(world, world.new_account())
    node = world.nodes[0]
    with boa.reverts("registry: declare the shard capability first"):
        announce(world, node)
    shard_node(world)
    with boa.reverts("registry: unknown model id"):
        announce(world, node, model=keccak(b"no such model"))
    with boa.reverts("registry: empty block range"):
        announce(world, node, 3, 3)
    with boa.reverts("registry: empty block range"):
        announce(world, node, 4, 2)
    with boa.reverts("registry: throughput must be positive"):
        announce(world, node, throughput=0)
    with boa.reverts("registry: endpoint is empty"):
        announce(world, node, endpoint="")
    registry.begin_unbond(sender=node)
    with boa.reverts("registry: only an active node may announce shards"):
        announce(world, node)


def test_announce_needs_the_shard_capability_stake(world, registry):
    node = shard_node(world)                                              # stakes 2 x MIN_STAKE
    registry.set_capability_stake(CAP_SHARD, 5 * MIN_STAKE, sender=world.owner)
    with boa.reverts("registry: stake below the minimum for a capability"):
        announce(world, node)


def test_listing_is_bounded(world, registry):
    nodes = [shard_node(world, i) for i in range(len(world.nodes))]
    while len(nodes) < MAX_SHARDS + 1:
        n = world.register(stake=MIN_STAKE)
        registry.set_capabilities(CAP_SHARD, sender=n)
        nodes.append(n)
    for n in nodes[:MAX_SHARDS]:
        announce(world, n)
    with boa.reverts("registry: too many shards announced for this model"):
        announce(world, nodes[MAX_SHARDS])
    announce(world, nodes[0], 1, 2)                                       # an update still fits
    registry.withdraw_shard(MODEL, sender=nodes[1])
    announce(world, nodes[MAX_SHARDS])                                    # a freed slot is reusable
    assert len(registry.shards_of(MODEL)) == MAX_SHARDS
