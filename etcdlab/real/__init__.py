"""Real etcd on loopback: PKI, process supervision and clean-up, the cluster, the client,
the drills and the apiserver's view of it.

May import: ``model``, ``sources``, ``diagnosis`` and ``sim`` (a running cluster reports its
state as the simulator's ``ClusterState``, so reality checks the model); never ``graphs``.
"""
