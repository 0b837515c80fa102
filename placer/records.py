"""Immutable value classes whose methods were written at packaging time.

Every value that flows between placer's stages is a frozen, slotted class declared with
`frozen` (or, for the few mutable working records of the loader, `mutable`): fields from
the class's annotations, defaults and `field` options as attrs spells them, and
``__init__``, ``__repr__``, ``__eq__`` and ``__hash__`` generated from them (a method the
class body defines itself is kept).

Why not attrs, which placer used first: a one-shot CLI pays for every class at start-up,
and attrs creates each method with ``compile()`` (about 0.3 ms a class, ~130 classes)
after a 20 ms import; together that was most of a cold ``placer check``. Here the methods
of every class in the package are generated once, by ``python -m placer._recordgen``,
into `placer._record_methods`, which the wheel installs precompiled like any module;
decorating a class then only looks its factory up (a class whose declaration no longer
matches the generated file, as while editing, is generated and compiled on the spot, from
the same source text). ``tests/test_records.py`` checks that the file is current.

The semantics follow attrs' ``attrs.frozen(slots=True)``: equality compares the fields with
``eq=True`` between instances of the very same class; the hash combines them; the repr
shows the fields with ``repr=True``; a field with a default may not precede one without;
``kw_only`` fields are keyword-only; ``init=False`` fields are set by ``__post_init__``
(attrs' ``__attrs_post_init__``); assigning to a field of a frozen instance raises
`FrozenInstanceError`; instances copy and pickle.
"""

from __future__ import annotations

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
GENERATOR_VERSION = 2


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
    return "__record_fields__" in getattr(cls, "__dict__", {})


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
    """Everything the generated methods of one class depend on."""

    __slots__ = ("fields", "frozen", "key", "post_init", "wanted")

    def __init__(self, key: str, fields: tuple[Field, ...], frozen: bool, post_init: bool,
                 wanted: tuple[str, ...]) -> None:
        self.key = key
        self.fields = fields
        self.frozen = frozen
        self.post_init = post_init
        #: The methods to generate: those the class body does not define itself.
        self.wanted = wanted

    def fingerprint(self) -> str:
        """A text that changes whenever the generated source would."""
        parts = [f"v{GENERATOR_VERSION}", "F" if self.frozen else "M",
                 "P" if self.post_init else "", ",".join(self.wanted)]
        for f in self.fields:
            flags = "".join(letter for letter, on in (
                ("d", f.default is not NOTHING), ("f", f.factory is not None),
                ("s", f.takes_self), ("c", f.converter is not None), ("i", not f.init),
                ("e", not f.eq), ("r", not f.repr), ("k", f.kw_only)) if on)
            parts.append(f"{f.name}:{flags}")
        return "|".join(parts)


#: Methods a record gets unless its class body defines them.
_GENERATED = ("__init__", "__repr__", "__eq__", "__hash__")


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
        code = getattr(value, "__code__", None)
        if code is not None and "__class__" in code.co_freevars:
            raise TypeError(f"{cls.__qualname__}: a record's methods cannot use super() "
                            "without arguments (the class is rebuilt with slots)")
    found, consumed = _collect(cls)
    wanted = tuple(m for m in _GENERATED if m not in cls.__dict__
                   and (frozen or m != "__hash__"))
    spec = _Spec(f"{cls.__module__}.{cls.__qualname__}", found, frozen,
                 hasattr(cls, "__post_init__"), wanted)
    body = {k: v for k, v in cls.__dict__.items()
            if k not in consumed and k not in ("__dict__", "__weakref__")}
    base_slots = {s for b in cls.__mro__[1:] for s in b.__dict__.get("__slots__", ())}
    body["__slots__"] = tuple(f.name for f in found if f.name not in base_slots)
    if not frozen and "__hash__" not in cls.__dict__:
        body["__hash__"] = None
    if frozen:
        body.setdefault("__setattr__", _frozen_setattr)
        body.setdefault("__delattr__", _frozen_delattr)
    body.setdefault("__getstate__", _getstate)
    body.setdefault("__setstate__", _setstate)
    body["__match_args__"] = tuple(f.name for f in found if f.init and not f.kw_only)
    body["__record_fields__"] = found
    body["__record_spec__"] = spec
    new: _C = type(cls)(cls.__name__, cls.__bases__, body)  # type: ignore[misc]
    new.__qualname__ = cls.__qualname__
    # The methods come once the class exists: __init__ stores through the slots' own
    # descriptors, a third faster than object.__setattr__ by name.
    for name, method in _methods(spec, new).items():
        setattr(new, name, method)
    return new


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


# --- The generated methods -----------------------------------------------------------


def factory_name(key: str) -> str:
    """The name of the generated factory of the class `key` (``module.QualName``)."""
    return "make_" + key.replace("_", "__").replace(".", "_")


def factory_source(spec: _Spec) -> str:
    """The source text of the function that returns the generated methods of `spec`'s
    class, given the objects they close over (`NOTHING`, and each field's slot setter,
    default, factory and converter)."""
    params = ["NOTHING"]
    for f in spec.fields:
        params += [f"_s_{f.name}"] + [f"_d_{f.name}"] * (f.default is not NOTHING) + \
                  [f"_f_{f.name}"] * (f.factory is not None) + \
                  [f"_c_{f.name}"] * (f.converter is not None)
    lines = [f"def {factory_name(spec.key)}({', '.join(params)}):"]
    names = []
    if "__init__" in spec.wanted:
        names.append("__init__")
        lines += _init_lines(spec)
    eq_fields = [f.name for f in spec.fields if f.eq]
    mine = "".join(f"self.{n}, " for n in eq_fields)
    theirs = "".join(f"other.{n}, " for n in eq_fields)
    if "__repr__" in spec.wanted:
        names.append("__repr__")
        shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in spec.fields if f.repr)
        lines += ["    def __repr__(self):",
                  f"        return f'{{self.__class__.__qualname__}}({shown})'"]
    if "__eq__" in spec.wanted:
        names.append("__eq__")
        lines += ["    def __eq__(self, other):",
                  "        if other.__class__ is not self.__class__:",
                  "            return NotImplemented",
                  f"        return ({mine}) == ({theirs})"]
    if "__hash__" in spec.wanted:
        names.append("__hash__")
        salt = zlib.crc32(spec.key.encode())
        lines += ["    def __hash__(self):",
                  f"        return hash(({salt}, {mine}))"]
    lines.append(f"    return {{{', '.join(f'{n!r}: {n}' for n in names)}}}")
    return "\n".join(lines) + "\n"


def _init_lines(spec: _Spec) -> list[str]:
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    assign = "_s_{name}(self, {value})"
    for f in spec.fields:
        if not f.init:
            if f.factory is not None:
                call = f"_f_{f.name}(self)" if f.takes_self else f"_f_{f.name}()"
                body.append(assign.format(name=f.name, value=call))
            elif f.default is not NOTHING:
                body.append(assign.format(name=f.name, value=f"_d_{f.name}"))
            continue
        arg = f.alias
        if f.factory is not None:
            param = f"{arg}=NOTHING"
            call = f"_f_{f.name}(self)" if f.takes_self else f"_f_{f.name}()"
            value = f"{call} if {arg} is NOTHING else {arg}"
        elif f.default is not NOTHING:
            param, value = f"{arg}=_d_{f.name}", arg
        else:
            param, value = arg, arg
        if f.converter is not None:
            value = f"_c_{f.name}({value})"
        (keyword if f.kw_only else positional).append(param)
        body.append(assign.format(name=f.name, value=value))
    if spec.post_init:
        body.append("self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    return [f"    def __init__({signature}):", *(f"        {line}" for line in body or ["pass"])]


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


def _methods(spec: _Spec, cls: type) -> dict[str, Callable[..., Any]]:
    generated = _generated()
    name = factory_name(spec.key)
    make: Callable[..., dict[str, Callable[..., Any]]] | None = None
    if generated is not None and generated.FINGERPRINTS.get(spec.key) == spec.fingerprint():
        make = getattr(generated, name)
    else:
        namespace: dict[str, Any] = {}
        exec(compile(factory_source(spec), f"<record {spec.key}>", "exec"), namespace)
        make = namespace[name]
    return make(**_closure(spec, cls))

