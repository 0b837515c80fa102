"""Immutable value classes whose constructors were written at packaging time.

Every value that flows between placer's stages is a frozen, slotted class declared with
`frozen` (or, for the few mutable working records of the loader, `mutable`): fields from
the class's annotations, defaults and `field` options as attrs spells them, and
``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` made from them (a method the
class body defines itself is kept).

Why not attrs, which placer used first: a one-shot CLI pays for every class at start-up,
and attrs creates each method with ``compile()`` (about 0.3 ms a class, ~130 classes)
after a 20 ms import; together that was most of a cold ``placer check``. Here equality,
hash and repr are closures over `operator.attrgetter` (no compiling), and the one method
that must be generated code to be fast, ``__init__`` (the parser builds every AST node
through it), is generated once for every class in the package by ``python -m
placer._recordgen`` into `placer._record_methods`, which the wheel installs precompiled;
decorating a class then only looks its constructor up. A class whose declaration no
longer matches the generated file (as while editing), or one outside the package, gets
its constructor compiled on the spot from the same source text. ``tests/test_records.py``
checks that the file is current. Where setup.py built `placer._recordinit` (a wheel built
with a C compiler), a record whose fields are stored as given (no factory, converter or
``__post_init__``) gets a C ``__init__`` instead, which stores into the slots directly (a
Python ``__init__`` cannot: a frozen record's ``__setattr__`` refuses, so it calls each
slot's descriptor) and hands any call it cannot bind to the generated one, for Python's
own error; calling the class then allocates and stores without ``type.__call__``.

The semantics follow attrs' ``attrs.frozen(slots=True)``: equality compares the fields with
``eq=True`` between instances of the very same class; the hash combines them; the repr
shows the fields with ``repr=True``; a field with a default may not precede one without;
``kw_only`` fields are keyword-only; ``init=False`` fields are set by ``__post_init__``
(attrs' ``__attrs_post_init__``); assigning to a field of a frozen instance raises
`FrozenInstanceError`; instances copy, pickle and can be weakly referenced.
"""

from __future__ import annotations

import operator
import sys
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform, overload

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["NOTHING", "Field", "FrozenInstanceError", "evolve", "field", "fields", "frozen",
           "has", "mutable"]

_T = TypeVar("_T")
_C = TypeVar("_C", bound=type)

#: Bumped whenever the generated source changes shape, so a stale generated module is
#: never used.
GENERATOR_VERSION = 3


def _native_init_maker() -> tuple[Callable[..., Callable[..., None]] | None, int]:
    try:
        # Built by setup.py beside the mypyc-compiled modules; a pure-Python install has none.
        from placer._recordinit import MAX_FIELDS, make_init
    except ImportError:
        return None, 0
    return make_init, MAX_FIELDS


#: `placer._recordinit.make_init` (None where it was not built), and the most fields it
#: stores.
_make_native_init, _MAX_NATIVE_FIELDS = _native_init_maker()


class _Nothing:
    """The marker of a field without a default (attrs' ``NOTHING``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOTHING"

    def __reduce__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record."""


class Field:
    """One field of a record class, as `fields` returns it (attrs' ``Attribute``)."""

    __slots__ = ("alias", "converter", "default", "eq", "factory", "init", "kw_only", "name",
                 "repr", "takes_self", "type")

    def __init__(self, name: str, type: str | None, default: Any = NOTHING,
                 factory: Callable[..., Any] | None = None,
                 converter: Callable[[Any], Any] | None = None, *, init: bool = True,
                 eq: bool = True, repr: bool = True, kw_only: bool = False,
                 takes_self: bool = False) -> None:
        self.name = name
        #: The annotation as written (a string: placer's modules postpone annotations).
        self.type = type
        self.default = default
        self.factory = factory
        self.converter = converter
        self.init = init
        self.eq = eq
        self.repr = repr
        self.kw_only = kw_only
        #: Whether `factory` is called with the instance (its earlier fields already set).
        self.takes_self = takes_self
        #: The ``__init__`` parameter: the name without leading underscores, as in attrs.
        self.alias = name.lstrip("_")

    @property
    def has_default(self) -> bool:
        """Whether ``__init__`` may leave this field out."""
        return self.default is not NOTHING or self.factory is not None

    def named(self, name: str, type: str | None) -> Field:
        """This field's options for the field `name` annotated `type`."""
        return Field(name, type, self.default, self.factory, self.converter, init=self.init,
                     eq=self.eq, repr=self.repr, kw_only=self.kw_only,
                     takes_self=self.takes_self)

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r})"


@overload
def field(*, default: _T, converter: Callable[[Any], Any] | None = None, init: bool = True,
          eq: bool = True, repr: bool = True, kw_only: bool = False) -> _T: ...
@overload
def field(*, factory: Callable[[], _T], converter: Callable[[Any], Any] | None = None,
          init: bool = True, eq: bool = True, repr: bool = True,
          kw_only: bool = False) -> _T: ...
@overload
def field(*, factory: Callable[[Any], _T], takes_self: bool,
          converter: Callable[[Any], Any] | None = None, init: bool = True, eq: bool = True,
          repr: bool = True, kw_only: bool = False) -> _T: ...
@overload
def field(*, converter: Callable[[Any], Any] | None = None, init: bool = True, eq: bool = True,
          repr: bool = True, kw_only: bool = False) -> Any: ...
def field(*, default: Any = NOTHING, factory: Callable[..., Any] | None = None,
          takes_self: bool = False, converter: Callable[[Any], Any] | None = None,
          init: bool = True, eq: bool = True, repr: bool = True,
          kw_only: bool = False) -> Any:
    """Options of one field, as attrs' ``attrs.field`` takes them: a `default` value or a
    `factory` called per instance (with the instance, its earlier fields set, when
    `takes_self`), a `converter` applied by ``__init__``, whether
    ``__init__`` takes it (`init`), whether equality and hashing (`eq`) and the repr
    (`repr`) include it, and whether it is keyword-only (`kw_only`)."""
    if default is not NOTHING and factory is not None:
        raise TypeError("a field takes a default or a factory, not both")
    if takes_self and factory is None:
        raise TypeError("takes_self needs a factory")
    # Named when its class is decorated (`Field.named`).
    return Field("", None, default, factory, converter, init=init, eq=eq, repr=repr,
                 kw_only=kw_only, takes_self=takes_self)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: _C, /) -> _C:
    """Make `cls` an immutable, slotted record."""
    return _record(cls, frozen=True)


@dataclass_transform(field_specifiers=(field,))
def mutable(cls: _C, /) -> _C:
    """Make `cls` a slotted record whose fields can be assigned (unhashable, as attrs'
    ``attrs.define``): for working state that never leaves the stage that owns it."""
    return _record(cls, frozen=False)


def has(cls: type) -> bool:
    """Whether `cls` is a record class."""
    return getattr(cls, "__record_fields__", None) is not None


def fields(cls: type) -> tuple[Field, ...]:
    """The fields of record class `cls`, in ``__init__`` order of declaration."""
    found: tuple[Field, ...] | None = getattr(cls, "__record_fields__", None)
    if found is None:
        raise TypeError(f"{cls!r} is not a record class")
    return found


def evolve(instance: _T, **changes: Any) -> _T:
    """A copy of record `instance` with `changes` (field names as ``__init__`` takes
    them), through ``__init__``, so converters and ``__post_init__`` run again."""
    cls = type(instance)
    for spec in fields(cls):
        if spec.init and spec.alias not in changes:
            changes[spec.alias] = getattr(instance, spec.name)
    return cls(**changes)


# --- Building a class -----------------------------------------------------------------


class _Spec:
    """Everything the generated ``__init__`` of one class depends on."""

    __slots__ = ("fields", "init", "key", "post_init")

    def __init__(self, key: str, fields: tuple[Field, ...], post_init: bool,
                 init: bool) -> None:
        self.key = key
        self.fields = fields
        self.post_init = post_init
        #: Whether ``__init__`` is generated (the class body does not define one).
        self.init = init

    def fingerprint(self) -> str:
        """A text that changes whenever the generated source would."""
        parts = [f"v{GENERATOR_VERSION}", "P" if self.post_init else ""]
        for f in self.fields:
            flags = "".join(letter for letter, on in (
                ("d", f.default is not NOTHING), ("f", f.factory is not None),
                ("s", f.takes_self), ("c", f.converter is not None), ("i", not f.init),
                ("e", not f.eq), ("r", not f.repr), ("k", f.kw_only)) if on)
            parts.append(f"{f.name}:{flags}")
        return "|".join(parts)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return text.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))


def _collect(cls: type) -> tuple[tuple[Field, ...], dict[str, object]]:
    """`cls`'s fields (base records' first) and the class attributes that held them."""
    inherited: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("__record_fields__", ()):
            inherited[f.name] = f
    own: dict[str, Field] = {}
    consumed: dict[str, object] = {}
    # Not inspect.get_annotations: importing inspect costs more than the whole lookup.
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, NOTHING)
        if name in cls.__dict__:
            consumed[name] = value
        text = annotation if isinstance(annotation, str) else getattr(
            annotation, "__name__", repr(annotation))
        own[name] = value.named(name, text) if isinstance(value, Field) else \
            Field(name, text, value)
        inherited.pop(name, None)
    found = (*inherited.values(), *own.values())
    seen_default = False
    for f in found:
        if not f.init or f.kw_only:
            continue
        if f.has_default:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__qualname__}: field {f.name!r} without a default follows "
                            "a field with one")
    return found, consumed


def _record(cls: _C, *, frozen: bool) -> _C:
    if issubclass(cls, BaseException):
        raise TypeError(f"{cls.__qualname__}: an exception cannot be a record")
    for value in cls.__dict__.values():
        for function in (value, getattr(value, "__func__", None),
                         *(getattr(value, a, None) for a in ("fget", "fset", "fdel"))):
            code = getattr(function, "__code__", None)
            if code is not None and "__class__" in code.co_freevars:
                raise TypeError(f"{cls.__qualname__}: a record's methods cannot use super() "
                                "without arguments (the class is rebuilt with slots)")
    found, consumed = _collect(cls)
    for f in found:
        if f.init and f.alias != f.name:
            raise TypeError(f"{cls.__qualname__}: field {f.name!r} starts with an underscore "
                            "and is set by __init__; give it init=False or another name")
    own = cls.__dict__
    spec = _Spec(f"{cls.__module__}.{cls.__qualname__}", found, hasattr(cls, "__post_init__"),
                 "__init__" not in own)

    body = {k: v for k, v in own.items()
            if k not in consumed and k not in ("__dict__", "__weakref__")}
    base_slots = {s for b in cls.__mro__[1:] for s in b.__dict__.get("__slots__", ())}
    weakref = () if any(hasattr(b, "__weakref__") for b in cls.__mro__[1:]) else ("__weakref__",)
    body["__slots__"] = (*(f.name for f in found if f.name not in base_slots), *weakref)
    eq_key = _key([f.name for f in found if f.eq])
    if "__repr__" not in own:
        body["__repr__"] = _repr_for(tuple(f.name for f in found if f.repr))
    if "__eq__" not in own:
        body["__eq__"] = _eq_for(eq_key)
    if not frozen:
        body.setdefault("__hash__", None)
    elif "__hash__" not in own:
        body["__hash__"] = _hash_for(eq_key, zlib.crc32(spec.key.encode()))
    if frozen:
        body.setdefault("__setattr__", _frozen_setattr)
        body.setdefault("__delattr__", _frozen_delattr)
    body.setdefault("__getstate__", _getstate)
    body.setdefault("__setstate__", _setstate)
    body.setdefault("__match_args__", tuple(f.name for f in found if f.init and not f.kw_only))
    body["__record_fields__"] = found
    body["__record_spec__"] = spec
    new: _C = type(cls)(cls.__name__, cls.__bases__, body)  # type: ignore[misc]
    new.__qualname__ = cls.__qualname__
    if spec.init:
        # Made once the class exists: __init__ stores through the slots' own descriptors,
        # a third faster than object.__setattr__ by name.
        immutable = frozen and new.__dict__.get("__setattr__") is _frozen_setattr
        new.__init__ = _init(spec, new, immutable=immutable)  # type: ignore[misc]
    return new


def _key(names: list[str]) -> Callable[[object], object]:
    """The tuple of an instance's `names` fields (C-speed `attrgetter`)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    get = operator.attrgetter(*names) if names else None

    def key(instance: object) -> object:
        return (get(instance),) if get is not None else ()
    return key


def _eq_for(key: Callable[[object], object]) -> Callable[[object, object], object]:
    def __eq__(self: object, other: object) -> object:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)
    return __eq__


def _hash_for(key: Callable[[object], object], salt: int) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash((salt, key(self)))
    return __hash__


def _repr_for(names: tuple[str, ...]) -> Callable[[object], str]:
    def __repr__(self: object) -> str:
        # A class defined in a function: its name without "f.<locals>.", as attrs shows it.
        name = type(self).__qualname__.rsplit(">.", 1)[-1]
        shown = ", ".join(f"{n}={getattr(self, n, NOTHING)!r}" for n in names)
        return f"{name}({shown})"
    return __repr__


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r} of a frozen "
                              f"{type(self).__qualname__}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r} of a frozen "
                              f"{type(self).__qualname__}")


def _getstate(self: object) -> tuple[object, ...]:
    return tuple(getattr(self, f.name, NOTHING) for f in fields(type(self)))


def _setstate(self: object, state: tuple[object, ...]) -> None:
    for f, value in zip(fields(type(self)), state, strict=True):
        if value is not NOTHING:
            object.__setattr__(self, f.name, value)


# --- The generated __init__ ----------------------------------------------------------


def factory_source(spec: _Spec, name: str = "make") -> str:
    """The source text of function `name`, which returns the ``__init__`` of `spec`'s
    class given the objects it closes over: `NOTHING`, and each field's slot setter,
    default, factory and converter."""
    params = ["NOTHING"]
    for f in spec.fields:
        params += [f"_s_{f.name}"] + [f"_d_{f.name}"] * (f.default is not NOTHING) + \
                  [f"_f_{f.name}"] * (f.factory is not None) + \
                  [f"_c_{f.name}"] * (f.converter is not None)
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in spec.fields:
        call = f"_f_{f.name}(self)" if f.takes_self else f"_f_{f.name}()"
        if not f.init:
            if f.factory is not None:
                body.append(f"_s_{f.name}(self, {call})")
            elif f.default is not NOTHING:
                body.append(f"_s_{f.name}(self, _d_{f.name})")
            continue
        if f.factory is not None:
            param, value = f"{f.name}=NOTHING", f"{call} if {f.name} is NOTHING else {f.name}"
        elif f.default is not NOTHING:
            param, value = f"{f.name}=_d_{f.name}", f.name
        else:
            param, value = f.name, f.name
        if f.converter is not None:
            value = f"_c_{f.name}({value})"
        (keyword if f.kw_only else positional).append(param)
        body.append(f"_s_{f.name}(self, {value})")
    if spec.post_init:
        body.append("self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    return "\n".join([f"def {name}({', '.join(params)}):",
                      f"    def __init__({signature}):",
                      *(f"        {line}" for line in body or ["pass"]),
                      "    return __init__"]) + "\n"


def _closure(spec: _Spec, cls: type) -> dict[str, object]:
    values: dict[str, object] = {"NOTHING": NOTHING}
    for f in spec.fields:
        values[f"_s_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not NOTHING:
            values[f"_d_{f.name}"] = f.default
        if f.factory is not None:
            values[f"_f_{f.name}"] = f.factory
        if f.converter is not None:
            values[f"_c_{f.name}"] = f.converter
    return values


def _generated() -> ModuleType | None:
    module = sys.modules.get("placer._record_methods")
    if module is None:
        try:
            from placer import _record_methods as module
        except ImportError:  # a source tree before its first generation
            return None
    return module


def _init(spec: _Spec, cls: type, *, immutable: bool) -> Callable[..., None]:
    generated = _generated()
    make: Callable[..., Callable[..., None]]
    if generated is not None and generated.FINGERPRINTS.get(spec.key) == spec.fingerprint():
        make = generated.FACTORIES[spec.key]
    else:
        namespace: dict[str, Any] = {}
        exec(compile(factory_source(spec), f"<record {spec.key}>", "exec"), namespace)
        make = namespace["make"]
    python_init = make(**_closure(spec, cls))
    positional = _stored_as_given(spec)
    if _make_native_init is None or positional is None:
        return python_init
    # The C __init__ stores the common call itself and hands every other one (an error
    # to report) to the Python one.
    return _make_native_init(
        cls, tuple(f.name for f in spec.fields), tuple(getattr(cls, f.name) for f in spec.fields),
        tuple(f.default for f in spec.fields), positional, NOTHING, python_init, immutable)


def _stored_as_given(spec: _Spec) -> int | None:
    """How many of `spec`'s fields ``__init__`` takes by position, if it stores every field
    just as it is passed or defaulted (what `placer._recordinit` does); None if some field
    needs Python (a factory, a converter, ``init=False``, ``__post_init__``), or if a
    keyword-only field comes before a positional one."""
    if spec.post_init or len(spec.fields) > _MAX_NATIVE_FIELDS or any(
        f.factory is not None or f.converter is not None or not f.init for f in spec.fields
    ):
        return None
    keyword_only = [f.kw_only for f in spec.fields]
    positional = keyword_only.index(True) if True in keyword_only else len(keyword_only)
    if not all(keyword_only[positional:]):
        return None
    return positional
