"""Wire conventions shared by the Betting, Accounts and Heartbeat APIs.

- `WireStruct`: the base of every wire type. camelCase on the wire, fields that are None (the default)
  omitted on encoding (betting-api.md §1.4: "Null or absent fields are omitted from responses").
- `Instant`: the XML `dateTime`. Encoded `YYYY-MM-DDTHH:MM:SS.mmmZ` (003:L10695, 003:L2787); decoded
  from ISO-8601 with or without milliseconds (003:L776).
- `I32`, `I64`, `Double`: the XML numbers, bounded like the Java int/long behind them, and finite (our
  policy), so a request that overflows or sends "NaN" fails as a type error instead of reaching the engine.
- `SpecialDouble`: NaN and the infinities as JSON strings, where the spec allows them (003:L11705-11736).
- `decode_as`: lenient request decoding (strings for numbers and booleans, ints for string ids, null as
  absent), raising `ParamsError`.
- `encode`: the one JSON encoder for responses.

Required fields: a field has no default when the XML marks it mandatory and real responses always carry
it, or when a client needs the key (betting-api.md §1.7). Every other field defaults to None.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = [
    "I32",
    "I64",
    "PARAMS_FAULTS",
    "APINGException",
    "Double",
    "Instant",
    "ParamsError",
    "ParamsErrorKind",
    "Price",
    "PriceSize",
    "Size",
    "SpecialDouble",
    "TimeRange",
    "UnknownOperationError",
    "WireStruct",
    "decode_as",
    "encode",
    "special_double",
]

# --- numbers ---------------------------------------------------------------------------------------

I32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
# Finite: lax decoding turns the strings "NaN" and "Infinity" into floats; the bounds reject them.
Double = Annotated[float, msgspec.Meta(ge=-1.7976931348623157e308, le=1.7976931348623157e308)]
Price = Double
Size = Double

# StartingPrices nearPrice/farPrice/actualSP "may contain numbers, INF, -INF, and NaN" (003:L11705-11716);
# JSON has no such tokens and msgspec would write null, so they travel as strings (betting-api.md §1.4).
SpecialDouble = Literal["NaN", "Infinity", "-Infinity"]


def special_double(x: float) -> float | SpecialDouble:
    """`x`, or its JSON string when it is NaN or infinite."""
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "NaN"
    return "Infinity" if x > 0 else "-Infinity"


# --- dates -----------------------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH: Final = datetime(1970, 1, 1)  # isoformat() of a naive datetime has no "+00:00" to strip
_MS: Final = timedelta(milliseconds=1)


@functools.total_ordering
class Instant:
    """A point in time to the millisecond (XML `dateTime`), held as epoch milliseconds like the core."""

    __slots__ = ("ms",)

    def __init__(self, ms: int) -> None:
        self.ms = int(ms)

    @classmethod
    def from_datetime(cls, dt: datetime) -> Instant:
        """A naive datetime is taken as UTC: "All times are returned in GMT" (001:L826)."""
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return cls((dt - _EPOCH) // _MS)

    @classmethod
    def parse(cls, text: str) -> Instant:
        """ISO-8601, with or without milliseconds, `Z` or an offset (003:L776, 003:L10695)."""
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"invalid date {text!r}, expected ISO-8601 such as 2014-03-13T00:00:00.000Z") from None
        return cls.from_datetime(dt)

    def to_datetime(self) -> datetime:
        return _EPOCH + self.ms * _MS

    def iso(self) -> str:
        """The wire form, always with milliseconds: 2013-10-30T14:22:47.000Z."""
        return (_NAIVE_EPOCH + self.ms * _MS).isoformat(timespec="milliseconds") + "Z"

    def __str__(self) -> str:
        return self.iso()

    def __repr__(self) -> str:
        return f"Instant({self.iso()!r})"

    def __eq__(self, other: object) -> bool:
        return self.ms == other.ms if isinstance(other, Instant) else NotImplemented

    def __lt__(self, other: Instant) -> bool:
        return self.ms < other.ms if isinstance(other, Instant) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.ms)


# --- structs ---------------------------------------------------------------------------------------


class WireStruct(msgspec.Struct, rename="camel", omit_defaults=True, repr_omit_defaults=True, gc=False):
    """Base of every wire type. Subclasses pass kw_only=True (msgspec does not inherit it) so that fields
    keep the XML's order whatever their defaults. gc=False: wire objects are trees, never cycles."""


class PriceSize(WireStruct, kw_only=True):
    price: Price
    size: Size


class TimeRange(WireStruct, kw_only=True):
    """Declared in SportsAPING.xml and AccountAPING.xml alike."""

    from_: Instant | None = msgspec.field(name="from", default=None)
    to: Instant | None = None


# --- errors ----------------------------------------------------------------------------------------


class APINGException(WireStruct, kw_only=True):
    """The body of an operation failure (003:L9968-10027); `errorCode` is one of the service's codes."""

    error_code: str
    error_details: str | None = None
    request_uuid: str | None = msgspec.field(name="requestUUID", default=None)


ParamsErrorKind = Literal["parse", "missing", "type"]

# kind -> (JSON-RPC error code, DSC fault code) (betting-api.md §1.5.1, §1.5.3, §1.5.6; 001:L88-224)
PARAMS_FAULTS: Final[dict[ParamsErrorKind, tuple[int, str]]] = {
    "parse": (-32700, "DSC-0008"),  # JSONDeserialisationParseFailure
    "missing": (-32602, "DSC-0018"),  # MandatoryNotDefined
    "type": (-32602, "DSC-0009"),  # ClassConversionFailure, including a value matching no enum
}


class ParamsError(ValueError):
    """A request's params could not be decoded. `field` is the parameter's path (`instructions[0].price`)
    when one is to blame."""

    def __init__(self, kind: ParamsErrorKind, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind: ParamsErrorKind = kind
        self.message = message
        self.field = field

    @property
    def jsonrpc_code(self) -> int:
        return PARAMS_FAULTS[self.kind][0]

    @property
    def fault_code(self) -> str:
        return PARAMS_FAULTS[self.kind][1]

    def __repr__(self) -> str:
        return f"ParamsError({self.kind!r}, {self.message!r}, field={self.field!r})"


class UnknownOperationError(LookupError):
    """No such operation (JSON-RPC -32601, DSC-0021 NoSuchOperation)."""

    def __init__(self, operation: str) -> None:
        super().__init__(f"no such operation: {operation!r}")
        self.operation = operation


# --- encoding --------------------------------------------------------------------------------------


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, Instant):
        return obj.iso()
    raise NotImplementedError(f"cannot encode {type(obj).__name__}")


_ENCODER: Final = msgspec.json.Encoder(enc_hook=_enc_hook)


def encode(obj: Any) -> bytes:
    """JSON bytes of a wire struct (or of lists, dicts and scalars holding them)."""
    return _ENCODER.encode(obj)


# --- lenient decoding ------------------------------------------------------------------------------


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is Instant:
        if isinstance(obj, str):
            return Instant.parse(obj)
        if isinstance(obj, Instant):
            return obj
        if isinstance(obj, datetime):
            return Instant.from_datetime(obj)
        if isinstance(obj, int) and not isinstance(obj, bool):
            return Instant(obj)  # epoch milliseconds, which Jackson also accepts for a Date
        raise ValueError(f"Expected an ISO-8601 date, got `{type(obj).__name__}`")
    raise NotImplementedError(f"cannot decode {tp!r}")


T = TypeVar("T")

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_type_infos: dict[Any, mi.Type] = {}


def _decoder(tp: Any) -> msgspec.json.Decoder[Any]:
    dec = _decoders.get(tp)
    if dec is None:
        # strict=False: "237486" -> int, "2" -> float, "true"/"1" -> bool (003:L10661-10668, 003:L2769).
        dec = _decoders[tp] = msgspec.json.Decoder(tp, strict=False, dec_hook=_dec_hook)
    return dec


def _type_info(tp: Any) -> mi.Type:
    info = _type_infos.get(tp)
    if info is None:
        info = _type_infos[tp] = mi.type_info(tp)
    return info


def _normalise(value: Any, t: mi.Type) -> Any:
    """What strict=False does not cover: drop null members (null = absent) and turn ints into strings
    where the type is a string (`"eventTypeIds": [1]`, 003:L273-282)."""
    if isinstance(t, mi.UnionType):
        if value is None:
            return None
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if len(members) == 1:
            return _normalise(value, members[0])
        return value
    if isinstance(t, mi.StructType):
        if not isinstance(value, dict):
            return value
        fields = {f.encode_name: f.type for f in t.fields}
        return {k: (_normalise(v, fields[k]) if k in fields else v) for k, v in value.items() if v is not None}
    if isinstance(t, mi.ListType):
        return [_normalise(v, t.item_type) for v in value] if isinstance(value, list) else value
    if isinstance(t, mi.DictType):
        if not isinstance(value, dict):
            return value
        return {k: _normalise(v, t.value_type) for k, v in value.items()}
    if isinstance(t, mi.StrType) and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _params_error(exc: msgspec.ValidationError) -> ParamsError:
    # msgspec: "<what> - at `$.instructions[0].limitOrder`" (no suffix at the top level)
    text = str(exc)
    what, sep, where = text.rpartition(" - at `")
    if not sep:
        what, where = text, "$`"
    path = where[:-1].removeprefix("$").removeprefix(".")
    missing = what.removeprefix("Object missing required field `")
    if missing != what:
        name = missing.removesuffix("`")
        field = f"{path}.{name}" if path else name
        return ParamsError("missing", f"mandatory parameter `{field}` is missing", field)
    if path:
        return ParamsError("type", f"invalid value for `{path}`: {what}", path)
    return ParamsError("type", f"invalid params: {what}")


def decode_as(tp: type[T], raw: bytes | str | Mapping[str, Any] | None) -> T:
    """Decode request params (JSON bytes or text, or an already parsed object) into `tp`, leniently.

    Well-formed requests take one msgspec pass. A request that fails it is parsed to Python objects,
    normalised (nulls dropped, int ids made strings, see `_normalise`) and converted again; what still
    fails is reported as a ParamsError naming the field. Unknown keys are ignored; an absent or empty
    body is `{}`."""
    obj: Any
    if raw is None:
        obj = {}
    elif isinstance(raw, (bytes, str)):
        if not raw.strip():
            obj = {}
        else:
            try:
                result: T = _decoder(tp).decode(raw)
                return result
            except msgspec.ValidationError:
                pass
            except msgspec.DecodeError as exc:
                raise ParamsError("parse", f"malformed JSON: {exc}") from None
            try:
                obj = msgspec.json.decode(raw)
            except msgspec.DecodeError as exc:
                raise ParamsError("parse", f"malformed JSON: {exc}") from None
    elif not isinstance(raw, Mapping):  # e.g. `0` or `[...]` sent as the params object
        raise ParamsError("type", "params must be a JSON object")
    else:
        obj = dict(raw)
        try:
            return msgspec.convert(obj, tp, strict=False, dec_hook=_dec_hook)
        except msgspec.ValidationError:
            pass
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise ParamsError("type", f"params must be a JSON object, got {type(obj).__name__}")
    try:
        return msgspec.convert(_normalise(obj, _type_info(tp)), tp, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise _params_error(exc) from None
