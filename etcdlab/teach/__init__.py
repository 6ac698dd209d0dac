"""Teaching: the notebooks' exercises and self-checks, and helpers notebooks need.

Sits on top: may import every subpackage but ``cli``.
"""
