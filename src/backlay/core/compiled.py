"""What the core needs to say to mypyc (scripts/compile-core.sh), and nothing at run time.

Compiled classes are built by calling their `__init__`, unpickling included, unless they are marked
`serializable`: snapshots pickle the state, so every class a snapshot holds whose `__init__` takes
arguments is marked `@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)`. The second
flag because, with mypy 2.4, a class marked serializable alone skips its `__init__` when Python code
(a test, the stream) calls it, leaving its attributes undefined; together they cost under 1% more
instructions per command (bench/icount.py). mypyc knows the decorator by its name in mypy_extensions,
so it is written out at each class, not aliased; without mypy_extensions (a plain install runs the
core as Python) it does nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING or importlib.util.find_spec("mypy_extensions") is not None:
    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*attrs: str, **kwattrs: object) -> Callable[[Any], Any]:
        return lambda cls: cls

__all__ = ["mypyc_attr"]
