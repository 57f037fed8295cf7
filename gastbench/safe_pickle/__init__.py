"""Values from untrusted pickles, built by gastbench and never by the classes a pickle names.

A pickle builds an object in two steps: a call (``REDUCE``) and then a ``BUILD`` that hands the
new object a state through its ``__setstate__``. Allow-listing the callables is not enough,
because the ``__setstate__`` of the objects they return trusts its state:

- numpy's ``dtype.__setstate__`` takes flags as given, so an object dtype can lose the flag that
  makes numpy expect a list of Python objects; ``ndarray.__setstate__`` then fills an "object"
  array from raw bytes, i.e. from pointers the file chose (a crash, or worse, when read);
- ``torch.Tensor.__setstate__`` calls ``set_`` with whatever storage, size and stride it is given.

So every allow-listed name resolves to a *stand-in* here. A stand-in records what the pickle
asked for, checks it the moment it is asked (the dtype's kind and byte order when the dtype is
constructed, its whole state when it is built, the byte count of an array's data), builds the
value itself from checked bytes, and refuses any state it does not expect. After loading,
:func:`resolve` swaps the stand-ins for their values and checks every array once more.

Allowed array contents are plain, pointer-free dtypes -- booleans, integers, floats, complex
numbers and fixed-width byte or unicode strings, in either byte order -- and object arrays,
which numpy pickles as a list of Python values (rebuilt here element by element). Structured,
void, datetime and user-defined dtypes are refused.
"""

from __future__ import annotations

from .base import BufferReader, Constructor, MalformedPickleError, StandIn, UnsafePickleError, pickle_end
from .numpy_values import builtin_globals, check_plain_dtype, numpy_globals
from .resolve import MAX_NESTING, resolve

__all__ = [
    "UnsafePickleError",
    "MalformedPickleError",
    "pickle_end",
    "BufferReader",
    "StandIn",
    "Constructor",
    "numpy_globals",
    "builtin_globals",
    "resolve",
    "check_plain_dtype",
    "MAX_NESTING",
]
