"""The simulator: quorum arithmetic on a cluster state, a seeded Raft election model,
and the ipywidgets apps that let you click members down.

May import: ``model``, ``sources``, ``diagnosis`` and ``graphs`` (the quorum app draws the topology).
"""
