"""`quick_init` constructors take the dataclass's parameters and build the same objects."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from circuit_breakers import BreakerState, Decision, Measures
from circuit_breakers.reasons import ReasonFacts
from circuit_breakers.types import BreakerStatus, quick_init

CLASSES = [BreakerState, Decision, Measures, ReasonFacts]


@pytest.mark.parametrize("cls", CLASSES)
def test_the_parameters_are_the_fields_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    assert [(p.name, p.default) for p in params] == [
        (f.name, inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default)
        for f in dataclasses.fields(cls)
    ]


@pytest.mark.parametrize("cls", CLASSES)
def test_every_field_holds_its_argument_by_keyword_and_by_position(cls: type) -> None:
    values = {f.name: object() for f in dataclasses.fields(cls)}
    by_keyword = cls(**values)
    by_position = cls(*values.values())
    for name, value in values.items():
        assert getattr(by_keyword, name) is value
        assert getattr(by_position, name) is value
    assert by_keyword == by_position


def test_defaults_make_a_closed_breaker() -> None:
    state = BreakerState()
    assert (state.status, state.confirmations, state.variance, state.rebase) == (
        BreakerStatus.CLOSED,
        0,
        0.0,
        False,
    )
    assert Decision(True, BreakerStatus.CLOSED, "ok").trips == ()


@pytest.mark.parametrize("cls", CLASSES)
def test_objects_stay_frozen_and_hashable(cls: type) -> None:
    obj = cls(*(1 for _ in dataclasses.fields(cls)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.__setattr__(dataclasses.fields(cls)[0].name, 2)
    assert hash(obj) == hash(cls(*(1 for _ in dataclasses.fields(cls))))


def test_wrong_arguments_are_refused_as_by_the_generated_init() -> None:
    with pytest.raises(TypeError):
        BreakerState(nonsense=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Decision(True)  # type: ignore[call-arg]


def test_a_default_factory_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: tuple[int, ...] = dataclasses.field(default_factory=tuple)

    with pytest.raises(TypeError, match="plain defaults"):
        quick_init(WithFactory)
