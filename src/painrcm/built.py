"""Models the engine builds from values it made itself, without pydantic's second validation.

``Model.model_construct`` skips validation but resolves every default through pydantic's field
machinery on each call, which costs more than validating a small model. `builder(Model)` works the
defaults out once: each call is a new object, its field values (every field, in declaration order)
and the names of the fields given (``model_fields_set``, as validating the same values records).
The caller gives values of the field types (a float for a float field): nothing converts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def builder(cls: type[M]) -> Callable[..., M]:
    """A function building `cls` from keyword values without validating them."""
    if cls.__private_attributes__:
        raise TypeError(f"{cls.__name__} has private attributes: build it with model_construct")
    defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, f in cls.model_fields.items():
        if f.default_factory is not None:
            factories.append((name, f.default_factory))  # type: ignore[arg-type]
            defaults[name] = None  # keeps the declaration order; replaced below when not given
        else:
            defaults[name] = f.default
    names = frozenset(defaults)
    required = frozenset(n for n, f in cls.model_fields.items() if f.is_required())

    def build(**values: Any) -> M:
        if not names.issuperset(values):
            raise TypeError(f"{cls.__name__} has no field {sorted(set(values) - names)}")
        if not required.issubset(values):
            raise TypeError(f"{cls.__name__} needs {sorted(required - set(values))}")
        d = defaults.copy()
        d.update(values)
        for name, factory in factories:
            if name not in values:
                d[name] = factory()
        obj = _new(cls)
        _set_dict(obj, d)
        _set_fields(obj, set(values))
        _set_extra(obj, None)
        _set_private(obj, None)
        return obj

    return build
