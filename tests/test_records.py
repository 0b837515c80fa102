"""placer's value classes (`placer.records`): the generated methods file is current, and a
record behaves as the attrs ``frozen(slots=True)`` class it replaced."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest

from placer import _recordgen, records
from placer.errors import SourceSpan
from placer.layout import Layout
from placer.versions import ZephyrVersion


def test_the_generated_methods_are_current() -> None:
    assert _recordgen.TARGET.read_text(encoding="utf-8") == _recordgen.source(), \
        "run `python -m placer._recordgen` and commit placer/_record_methods.py"


def test_every_package_record_uses_the_generated_methods() -> None:
    # A stale entry would fall back to compile(): correct, but the start-up cost returns.
    code = ("import placer._recordgen as g, placer._record_methods as m;"
            "specs = g.record_specs();"
            "stale = [s.key for s in specs if m.FINGERPRINTS.get(s.key) != s.fingerprint()];"
            "print(len(specs), stale)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split(" ", 1)
    assert int(out[0]) > 100
    assert out[1].strip() == "[]"


@records.frozen
class _Point:
    x: int
    y: int = 0
    label: str = records.field(default="", eq=False, repr=False)
    tags: tuple[str, ...] = records.field(factory=tuple, kw_only=True)


@records.frozen
class _Derived:
    base: int
    twice: int = records.field(init=False, repr=False, eq=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "twice", 2 * self.base)


@records.mutable
class _Counter:
    name: str
    hits: list[str] = records.field(factory=list)


def test_init_defaults_factories_and_keyword_only_fields() -> None:
    p = _Point(1)
    assert (p.x, p.y, p.label, p.tags) == (1, 0, "", ())
    assert _Point(1, 2, "a", tags=("t",)).tags == ("t",)
    with pytest.raises(TypeError):
        _Point(1, 2, "a", ("t",))  # type: ignore[misc]
    assert _Point.__match_args__ == ("x", "y", "label")


def test_equality_and_hash_skip_eq_false_fields_and_other_classes() -> None:
    assert _Point(1, 2, "a") == _Point(1, 2, "b")
    assert hash(_Point(1, 2, "a")) == hash(_Point(1, 2, "b"))
    assert _Point(1, 2) != _Point(1, 3)
    assert _Point(1) != (1, 0)
    assert _Point(1).__eq__(_Derived(1)) is NotImplemented


def test_repr_shows_repr_fields_only() -> None:
    assert repr(_Point(1, 2, "hidden", tags=("t",))) == "_Point(x=1, y=2, tags=('t',))"
    assert repr(_Derived(3)) == "_Derived(base=3)"


def test_frozen_records_refuse_assignment_and_deletion() -> None:
    p = _Point(1)
    with pytest.raises(records.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 1  # type: ignore[attr-defined]


def test_post_init_and_evolve_run_through_init() -> None:
    d = _Derived(3)
    assert d.twice == 6
    assert records.evolve(d, base=5).twice == 10
    assert records.evolve(_Point(1, tags=("a",)), y=4) == _Point(1, 4, tags=("a",))


def test_records_copy_and_pickle() -> None:
    p = _Point(1, 2, "a", tags=("t",))
    for twin in (copy.copy(p), copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert twin == p and twin.label == "a" and twin is not p
    d = copy.deepcopy(_Derived(4))
    assert d.twice == 8


def test_mutable_records_assign_and_are_unhashable() -> None:
    c = _Counter("c")
    c.hits.append("x")
    c.name = "d"
    assert c == _Counter("d", ["x"])
    with pytest.raises(TypeError):
        hash(c)


def test_fields_and_has() -> None:
    assert [f.name for f in records.fields(_Point)] == ["x", "y", "label", "tags"]
    assert records.has(_Point) and not records.has(int)
    with pytest.raises(TypeError, match="not a record class"):
        records.fields(int)


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default follows"):
        @records.frozen
        class _Bad:
            a: int = 0
            b: int  # type: ignore[misc]


def test_a_factory_can_take_the_instance() -> None:
    from tests.emit.layouts import kheap_layout

    layout = kheap_layout()
    bare = Layout(target=layout.target, heaps=layout.heaps, regions=layout.regions)
    assert bare.image == tuple(layout.target.board.used)


def test_package_records_keep_their_own_methods() -> None:
    # The class body's own __str__ / ordering survive the rebuild with slots.
    assert str(SourceSpan("a.ld", 3, 7)) == "a.ld:3:7"
    assert ZephyrVersion(4, 3) < ZephyrVersion(4, 3, 1) < ZephyrVersion(4, 4)
    with pytest.raises(TypeError):
        assert ZephyrVersion(4, 3) < (4, 4)  # type: ignore[operator]
    assert str(ZephyrVersion(4, 3, 99)) == "4.3.99"
    assert "__dict__" not in dir(ZephyrVersion(4, 3))


def test_a_record_declared_in_a_function_works_and_shows_its_plain_name() -> None:
    def make() -> type:
        @records.frozen
        class Local:
            x: int
        return Local

    local = make()
    assert repr(local(1)) == "Local(x=1)"
    assert local(1) == local(1) and hash(local(1)) == hash(local(1))


def test_records_can_be_weakly_referenced() -> None:
    import weakref

    p = _Point(1)
    assert weakref.ref(p)() is p


def test_a_plain_subclass_of_a_record_is_a_record() -> None:
    class Sub(_Point):
        __slots__ = ()

    assert records.has(Sub) and [f.name for f in records.fields(Sub)][:2] == ["x", "y"]


def test_a_match_args_of_the_class_body_is_kept() -> None:
    @records.frozen
    class Pair:
        __match_args__ = ("b",)
        a: int
        b: int

    assert Pair.__match_args__ == ("b",)


def test_declarations_a_record_cannot_honour_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot use super"):
        @records.frozen
        class _Super:
            x: int

            @property
            def name(self) -> str:
                return super().__repr__()
    with pytest.raises(TypeError, match="starts with an underscore"):
        @records.frozen
        class _Private:
            _x: int


def test_the_layout_reader_fills_a_field_with_a_factory() -> None:
    from placer.emit.layout_json import Decoder

    @records.frozen
    class Noted:
        a: int
        notes: tuple[str, ...] = records.field(factory=tuple)

    assert Decoder("f.json").record_instance(Noted, {"a": 1}, "x") == Noted(1)


@records.frozen
class _Span:
    file: str
    line: int
    column: int = 0
    note: str = records.field(default="", kw_only=True)


@records.mutable
class _Cell:
    value: object
    other: object = None


def _c_built() -> bool:
    return type(_Span.__init__).__module__ == "placer._recordinit"


def test_a_record_init_binds_positions_names_and_defaults() -> None:
    # The C constructor (a compiled run) and the Python one bind alike.
    assert _Span("a", 1) == _Span(file="a", line=1, column=0)
    span = _Span("a", 2, 3, note="n")
    assert (span.file, span.line, span.column, span.note) == ("a", 2, 3, "n")
    assert _Span(line=4, file="b").column == 0
    assert _Span(*["c", 5], **{"note": "k"}).note == "k"
    cell = _Cell([1])
    cell.value.append(2)
    cell.other = cell
    assert cell.value == [1, 2] and cell.other is cell


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("a",), {}, "missing 1 required positional argument: 'line'"),
    (("a", 1, 2, 3), {}, "takes from 3 to 4 positional arguments but 5 were given"),
    (("a", 1), {"line": 2}, "got multiple values for argument 'line'"),
    (("a", 1), {"width": 2}, "got an unexpected keyword argument 'width'"),
    (("a", 1, 0, "n"), {}, "takes from 3 to 4 positional arguments but 5 were given"),
])
def test_a_record_init_refuses_a_bad_call_as_python_does(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        _Span(*args, **kwargs)


def test_a_record_init_on_an_instance_of_another_class_is_refused_not_stored() -> None:
    # Storing by slot offset into an object of another layout would corrupt it: the C
    # constructor hands such a call to the slot descriptors, which refuse it.
    cell = _Cell(1)
    with pytest.raises(TypeError):
        _Span.__init__(cell, "a", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _Span.__init__(object(), "a", 1)  # type: ignore[arg-type]
    assert cell.value == 1 and cell.other is None


def test_a_record_init_looks_like_the_function_it_replaces() -> None:
    import inspect

    assert str(inspect.signature(_Span)) == "(file, line, column=0, *, note='')"
    assert _Span.__init__.__name__ == "__init__"
    span = _Span("a", 1)
    span.__init__("b", 2)  # type: ignore[misc]
    assert span.file == "b"
    assert _c_built() is (type(SourceSpan.__init__).__module__ == "placer._recordinit")


def test_a_subclass_init_reaches_the_record_init_through_super() -> None:
    class Named(_Span):
        __slots__ = ("name",)

        def __init__(self, name: str) -> None:
            super().__init__("f", 1)
            object.__setattr__(self, "name", name)

    named = Named("x")
    assert (named.file, named.line, named.name) == ("f", 1, "x")


def test_a_record_class_call_follows_an_init_replaced_later() -> None:
    # A C build calls the class without `type.__call__`; it must notice a new __init__.
    @records.frozen
    class Doubled:
        a: int

    original = Doubled.__init__

    def doubling(self: Doubled, a: int) -> None:
        original(self, a * 2)

    Doubled.__init__ = doubling  # type: ignore[method-assign]
    assert Doubled(2).a == 4
    Doubled.__init__ = original  # type: ignore[method-assign]
    assert Doubled(2).a == 2


def test_a_plain_subclass_without_its_own_init_is_built_by_the_record_init() -> None:
    class Tagged(_Span):
        __slots__ = ()

    tagged = Tagged("f", 3, note="x")
    assert type(tagged) is Tagged and (tagged.line, tagged.note) == (3, "x")
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'line'"):
        Tagged("f")


@records.frozen
class _Holder:
    items: object


def test_a_frozen_record_no_cycle_can_pass_through_is_left_to_reference_counting() -> None:
    import gc
    import weakref

    span = _Span("a", 1)
    nested = _Holder((span, (1, "x", None)))
    listed = _Holder([span])
    cell = _Cell(1)
    # A C build takes immutable records of immutable values off the cycle collector's
    # lists (CPython does the same to such tuples); anything else stays on them.
    assert gc.is_tracked(span) is gc.is_tracked(nested) is not _c_built()
    assert gc.is_tracked(listed) and gc.is_tracked(cell)
    # A cycle through a frozen record (by way of its list) is still collected.
    cyclic = _Holder([])
    cyclic.items.append(cyclic)  # type: ignore[attr-defined]
    gone = weakref.ref(cyclic)
    del cyclic
    gc.collect()
    assert gone() is None
