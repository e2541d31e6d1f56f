"""The node (I/O layer): daemon, journal, blob store and HTTP API, keys.

Modules are imported by path (`brainnet.node.blobs`, `brainnet.node.journal`, ...) so that
using one does not pull in the others' dependencies.
"""
