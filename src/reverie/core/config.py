"""Configs: one dataclass per mechanism, every knob a field with its paper's default.

A field is declared with `knob(default, "help", ...)`: the help text, choices, range and
unit live in its metadata, and everything else is generated from them: the CLI flags
(`reverie.cli.configargs`), the studio's form controls, the sidecar, and the checks below.
So a default or a rule is written once, here, beside the field.

    @dataclass
    class DreamConfig(Config):
        steps: int = knob(10, "gradient steps per octave", min=1)

`Config.__post_init__` checks every field against its metadata; a subclass adds rules that
span fields by overriding `check()`. Errors name the field (`ConfigError.field`), never a
command-line flag: the CLI turns a field into its flag in one place.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from reverie.core.errors import ReverieError

_MISSING = dataclasses.MISSING


class ConfigError(ReverieError):
    """A bad value for one Config field; `field` names it so interfaces can point at it."""

    def __init__(self, field: str, message: str, flag: str | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
        self.flag = flag  # the CLI's name, filled in by Config


def knob(default: Any = _MISSING, help: str = "", *, choices: Sequence[Any] | None = None,
         min: float | None = None, max: float | None = None, above: float | None = None,
         below: float | None = None, unit: str = "", flag: str | None = None,
         cli: bool = True, advanced: bool = False, factory=None, metavar: str | None = None,
         resolved: bool = False, studio: bool = True,
         file: Callable[[str], str | None] | None = None) -> Any:
    """A Config field. `min`/`max` are inclusive bounds, `above`/`below` exclusive;
    `choices` the allowed values (for lists: of each item); `flag` a CLI name other than the
    field's (e.g. `layer` for `layers`, repeatable); `cli=False` keeps it off the command
    line (set by the library or another flag); `resolved=True` marks a field whose `auto`
    value is replaced in the sidecar by what it became (device, precision, threads);
    `studio=False` keeps it off the studio's pages (a page may not set it: a cluster's
    address would make the server connect where the page says); `file` marks a field whose
    value may name a file: it returns the path part of a value, or None when the value names
    none (the studio then accepts only a file in its own folder)."""
    meta = {"help": help, "choices": list(choices) if choices is not None else None,
            "min": min, "max": max, "above": above, "below": below, "unit": unit,
            "flag": flag, "cli": cli, "advanced": advanced, "metavar": metavar,
            "resolved": resolved, "studio": studio, "file": file}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldInfo:
    """A Config field as the interfaces see it."""
    name: str
    kind: str               # int, float, str, bool, list[str], list[float], list[int]
    optional: bool          # None allowed
    default: Any
    help: str
    choices: list | None
    min: float | None
    max: float | None
    above: float | None
    below: float | None
    unit: str
    flag: str               # the CLI's name without dashes
    cli: bool
    advanced: bool
    metavar: str | None
    resolved: bool
    studio: bool = True
    file: Callable[[str], str | None] | None = None

    @property
    def is_list(self) -> bool:
        return self.kind.startswith("list")

    @property
    def item_kind(self) -> str:
        return self.kind[5:-1] if self.is_list else self.kind


def _kind(tp) -> tuple[str, bool]:
    """(kind, optional) from a resolved annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    optional = False
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        non_none = [a for a in args if a is not type(None)]
        optional = len(non_none) < len(args)
        tp = non_none[0]
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple, Sequence):
        item = args[0] if args else str
        return f"list[{item.__name__}]", optional
    if tp in (int, float, str, bool):
        return tp.__name__, optional
    return "str", optional


def fields(config_cls) -> list[FieldInfo]:
    """Every field of a Config class (or instance), in declaration order."""
    cls = config_cls if isinstance(config_cls, type) else type(config_cls)
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        kind, optional = _kind(hints[f.name])
        default = f.default if f.default is not _MISSING else (
            f.default_factory() if f.default_factory is not _MISSING else None)
        m = dict(f.metadata)
        out.append(FieldInfo(
            name=f.name, kind=kind, optional=optional or default is None, default=default,
            help=m.get("help", ""), choices=m.get("choices"), min=m.get("min"), max=m.get("max"),
            above=m.get("above"), below=m.get("below"), unit=m.get("unit", ""),
            flag=m.get("flag") or f.name.replace("_", "-"), cli=m.get("cli", True),
            advanced=m.get("advanced", False), metavar=m.get("metavar"),
            resolved=m.get("resolved", False), studio=m.get("studio", True),
            file=m.get("file")))
    last = getattr(cls, "TRAILING", ())
    return [f for f in out if f.name not in last] + [f for f in out if f.name in last]


def _check_value(info: FieldInfo, value: Any) -> Any:
    """Coerce and check one value (one item of a list field)."""
    try:
        return _check_one(info, value)
    except ConfigError as exc:
        exc.flag = info.flag
        raise


def _check_one(info: FieldInfo, value: Any) -> Any:
    kind = info.item_kind
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    expected = {"int": int, "float": float, "str": str, "bool": bool}[kind]
    if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(info.name, f"must be {'a' if kind != 'int' else 'an'} {kind}, "
                                     f"got {value!r}")
    if info.choices is not None and value not in info.choices:
        raise ConfigError(info.name, f"unknown value {value!r}; choose one of "
                                     f"{', '.join(map(str, info.choices))}")
    if kind in ("int", "float"):
        if info.min is not None and value < info.min:
            raise ConfigError(info.name, f"must be at least {info.min}, got {value}")
        if info.max is not None and value > info.max:
            raise ConfigError(info.name, f"must be at most {info.max}, got {value}")
        if info.above is not None and not value > info.above:
            raise ConfigError(info.name, f"must be above {info.above}, got {value}")
        if info.below is not None and not value < info.below:
            raise ConfigError(info.name, f"must be below {info.below}, got {value}")
    return value


class _ConfigType(type):
    """Takes a renamed field's old name (`ALIASES`) in the constructor, with a warning."""

    def __call__(cls, *args, **kwargs):
        return super().__call__(*args, **cls.unalias(kwargs))


@dataclass
class Config(metaclass=_ConfigType):
    """Base of every mechanism's Config: checks each field against its metadata.

    `ALIASES` maps a renamed field's old name to its new one: the old name is still taken
    (keyword, `replace`, `from_dict`, the CLI) for one release, with a DeprecationWarning.
    `TRAILING` names fields that interfaces list last (a base class's shared knobs).
    `ADDED` maps a field added after configs were first recorded to the value that does
    what the mechanism did before it existed, where that differs from its default: a
    recorded config without the field (a sidecar, a checkpoint) runs as it ran; a
    subclass's entries add to its bases'."""
    ALIASES: typing.ClassVar[dict[str, str]] = {}
    TRAILING: typing.ClassVar[tuple[str, ...]] = ()
    ADDED: typing.ClassVar[dict[str, Any]] = {}

    @classmethod
    def unalias(cls, values: dict) -> dict:
        """`values` with old field names replaced by their new ones."""
        if not cls.ALIASES or not any(k in cls.ALIASES for k in values):
            return values
        import warnings
        out = {}
        for k, v in values.items():
            new = cls.ALIASES.get(k)
            if new is not None:
                warnings.warn(f"{cls.__name__}: {k} is now called {new}; the old name goes "
                              f"in the next release", DeprecationWarning, stacklevel=4)
                if new in values:
                    continue
                k = new
            out[k] = v
        return out

    def __post_init__(self):
        for info in fields(self):
            value = getattr(self, info.name)
            if value is None:
                if not info.optional:
                    raise ConfigError(info.name, "must be given")
                continue
            if info.is_list:
                if isinstance(value, (str, int, float)):
                    value = [value]
                value = [_check_value(info, v) for v in value]
            else:
                value = _check_value(info, value)
            object.__setattr__(self, info.name, value)
        try:
            self.check()
        except ConfigError as exc:
            if exc.flag is None:
                exc.flag = next((i.flag for i in fields(self) if i.name == exc.field), None)
            raise

    def check(self) -> None:
        """Rules that span fields; subclasses raise ConfigError(field, message)."""

    def replace(self, **changes) -> "Config":
        """A copy with some fields changed (checked again); unknown names are an error."""
        changes = self.unalias(changes)
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            import difflib
            hints = [m for u in unknown for m in difflib.get_close_matches(u, known, n=1)]
            hint = f" (did you mean {', '.join(hints)}?)" if hints else ""
            raise ReverieError(f"{type(self).__name__} has no field {', '.join(unknown)}{hint}; "
                               f"its fields are: {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def added(cls) -> dict[str, Any]:
        """`ADDED` of this class and its bases (a subclass's value wins)."""
        out: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("ADDED", {}))
        return out

    @classmethod
    def from_dict(cls, data: dict, recorded: bool = True) -> "Config":
        """From a recorded config (a sidecar's, a checkpoint's): unknown keys (a newer or
        older version's) are an error that names them, and a field the record predates
        takes its `ADDED` value, else its default. `recorded=False` for a config written
        by hand (a batch job), where a field left out takes its default."""
        data = {**(cls.added() if recorded else {}), **cls.unalias(data)}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ReverieError(f"the recorded config has fields this version of {cls.__name__} "
                               f"does not know: {', '.join(unknown)}; rerun it with the reverie "
                               f"version that made it")
        return cls(**data)


def make_config(config_cls, config: Config | None = None, **overrides) -> Config:
    """The Config a mechanism runs with: `config` (or the defaults) with keyword overrides."""
    base = config if config is not None else config_cls()
    if not isinstance(base, config_cls):
        raise ReverieError(f"expected a {config_cls.__name__}, got {type(base).__name__}")
    return base.replace(**overrides) if overrides else base


def parse_value(info: FieldInfo, text: str) -> Any:
    """A field's value from text (`--set field=value`, form posts): types from the field."""
    if info.optional and text.strip().lower() in ("none", "null", "auto" if info.kind != "str" else "\0"):
        return None
    if info.is_list:
        items = [t.strip() for t in text.split(",") if t.strip()]
        return [_parse_one(info, info.item_kind, t) for t in items]
    return _parse_one(info, info.kind, text)


def _parse_one(info: FieldInfo, kind: str, text: str) -> Any:
    try:
        if kind == "bool":
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        return text
    except ValueError:
        raise ConfigError(info.name, f"{text!r} is not {'an' if kind == 'int' else 'a'} {kind}") from None


def seed_knob(default: int = 0) -> Any:
    return knob(default, "random seed: the same seed gives the same output", min=0)


def device_knob() -> Any:
    return knob("auto", "cpu, cuda, cuda:N, or auto (CUDA when present)", resolved=True,
                metavar="DEVICE")
