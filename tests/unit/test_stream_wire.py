"""backlay.betfair.wire.stream: the Exchange Stream API structs checked against Betfair's Swagger schema
(../shared/spec/official/ESASwaggerSchema.json), lenient request decoding (stream-identity-accounts.md §6.6)
and exact response encoding (§6.3, §6.11, §6.14).

The schema is Swagger 2: message definitions inherit from RequestMessage / ResponseMessage through `allOf`,
and those two bases name `op` as the discriminator, which msgspec encodes as the struct tag."""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path
from typing import Any, get_args

import msgspec
import msgspec.inspect as mi
import pytest

from backlay.betfair.wire import stream as ws
from backlay.betfair.wire.common import ParamsError, decode_as

# The spec lives beside the project, never inside it: ../shared from the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "spec" / "official"
SCHEMA_FILE = SPEC_DIR / "ESASwaggerSchema.json"

needs_spec = pytest.mark.skipif(
    not SCHEMA_FILE.is_file(), reason=f"Betfair stream schema not found: {SCHEMA_FILE} (../shared is absent)"
)

# definition -> (struct, where the spec describes it in 003). Every definition of the schema but the two
# abstract bases and the two "AllXxxTypesExample" wrappers.
REQUEST_DEFS: dict[str, tuple[type, str]] = {
    "AuthenticationMessage": (ws.AuthenticationMessage, "003:L6118-6124"),
    "MarketSubscriptionMessage": (ws.MarketSubscriptionMessage, "003:L6128-6158, 003:L6198-6219"),
    "MarketFilter": (ws.MarketFilter, "003:L6220-6296"),
    "MarketDataFilter": (ws.MarketDataFilter, "003:L6305-6354"),
    "OrderSubscriptionMessage": (ws.OrderSubscriptionMessage, "003:L6519-6524"),
    "OrderFilter": (ws.OrderFilter, "003:L6525-6538"),
    "HeartbeatMessage": (ws.HeartbeatMessage, "003:L6666-6669"),
}
RESPONSE_DEFS: dict[str, tuple[type, str]] = {
    "ConnectionMessage": (ws.ConnectionMessage, "003:L6114-6117"),
    "StatusMessage": (ws.StatusMessage, "003:L6051-6061"),
    "MarketChangeMessage": (ws.MarketChangeMessage, "003:L6160-6194, 003:L6355-6361"),
    "MarketChange": (ws.MarketChange, "003:L6360-6369"),
    "MarketDefinition": (ws.MarketDefinition, "003:L6401-6481"),
    "RunnerDefinition": (ws.RunnerDefinition, "003:L6482-6508"),
    "PriceLadderDefinition": (ws.PriceLadderDefinition, "003:L6422-6424"),
    "KeyLineDefinition": (ws.KeyLineDefinition, "003:L6425-6428"),
    "KeyLineSelection": (ws.KeyLineSelection, "003:L6509-6518"),
    "RunnerChange": (ws.RunnerChange, "003:L6370-6389"),
    "OrderChangeMessage": (ws.OrderChangeMessage, "003:L6540-6547"),
    "OrderMarketChange": (ws.OrderMarketChange, "003:L6547-6552"),
    "OrderRunnerChange": (ws.OrderRunnerChange, "003:L6552-6557, 003:L6591-6595"),
    "Order": (ws.Order, "003:L6558-6590"),
    "StrategyMatchChange": (ws.StrategyMatchChange, "003:L6533-6538 (stream-identity-accounts.md §6.14)"),
}
DEFS = {**REQUEST_DEFS, **RESPONSE_DEFS}
NOT_STRUCTS = {"RequestMessage", "ResponseMessage", "AllRequestTypesExample", "AllResponseTypesExample"}

# The `op` of each message: 003:L6027-6040 (requests), 003:L6041-6050 (responses).
OPS: dict[str, str] = {
    "AuthenticationMessage": "authentication",
    "MarketSubscriptionMessage": "marketSubscription",
    "OrderSubscriptionMessage": "orderSubscription",
    "HeartbeatMessage": "heartbeat",
    "ConnectionMessage": "connection",
    "StatusMessage": "status",
    "MarketChangeMessage": "mcm",
    "OrderChangeMessage": "ocm",
}

# Keys betfairlightweight reads without a default (stream-identity-accounts.md §6.11 and §6.14).
BFLW_MARKET_DEFINITION = {
    "betDelay", "bettingType", "bspMarket", "bspReconciled", "complete", "crossMatching", "discountAllowed",
    "eventId", "eventTypeId", "inPlay", "marketBaseRate", "marketTime", "numberOfActiveRunners",
    "numberOfWinners", "persistenceEnabled", "regulators", "runnersVoidable", "status", "timezone",
    "turnInPlayEnabled", "version", "runners",
}
BFLW_RUNNER_DEFINITION = {"id", "sortPriority", "status"}
BFLW_UNMATCHED_ORDER = {"id", "p", "s", "side", "status", "ot", "pd", "sm", "sr", "sl", "sc", "sv", "rfo", "rfs"}

# Response fields without a default (always written). The schema marks nothing required, so this is
# backlay's contract with the clients: what they read without a default, plus the ids and the keys every
# real message of that type carries.
RESPONSE_REQUIRED: dict[str, set[str]] = {
    "ConnectionMessage": {"connectionId"},  # 003:L6114-6117; §6.5 real example
    "StatusMessage": {"statusCode", "connectionClosed"},  # 003:L6054-6057; bflw tests connectionClosed (§6.3)
    "MarketChangeMessage": {"pt"},  # bflw reads data["pt"] (§6.7)
    "OrderChangeMessage": {"pt"},  # same
    "MarketChange": {"id"},  # the market id (§6.10)
    "MarketDefinition": BFLW_MARKET_DEFINITION,  # §6.11
    "RunnerDefinition": BFLW_RUNNER_DEFINITION,  # §6.11
    "PriceLadderDefinition": {"type"},
    "KeyLineDefinition": {"kl"},
    "KeyLineSelection": {"id", "hc"},  # 003:L6509-6518
    "RunnerChange": {"id"},  # the selection id (§6.10)
    "OrderMarketChange": {"id"},  # 003:L6549
    "OrderRunnerChange": {"id"},  # 003:L6555
    "Order": BFLW_UNMATCHED_ORDER | {"pt"},  # §6.14; every order has a persistence type (003:L6567-6568)
    "StrategyMatchChange": set(),
}

I32_BOUNDS = (-(2**31), 2**31 - 1)
I64_BOUNDS = (-(2**63), 2**63 - 1)
DOUBLE_BOUNDS = (-1.7976931348623157e308, 1.7976931348623157e308)  # finite, like backlay.betfair.wire.common.Double
SPECIAL_DOUBLES = {"NaN", "Infinity", "-Infinity"}  # SpecialDouble (003:L11705-11736)

# --- the schema, read --------------------------------------------------------------------------------


@functools.cache
def schema() -> dict[str, Any]:
    with SCHEMA_FILE.open(encoding="utf-8") as f:
        definitions: dict[str, Any] = json.load(f)["definitions"]
    return definitions


def ref_name(ref: str) -> str:
    return ref.removeprefix("#/definitions/")


def bases(name: str) -> list[str]:
    """The definitions `name` inherits from through allOf."""
    return [ref_name(part["$ref"]) for part in schema()[name].get("allOf", []) if "$ref" in part]


def properties(name: str) -> dict[str, dict[str, Any]]:
    """Every property of `name`, inherited ones included (allOf: the $ref'd definition's, then its own)."""
    definition = schema()[name]
    props: dict[str, dict[str, Any]] = {}
    for part in definition.get("allOf", [definition]):
        if "$ref" in part:
            props.update(properties(ref_name(part["$ref"])))
        props.update(part.get("properties", {}))
    return props


def discriminator(name: str) -> str | None:
    own = schema()[name].get("discriminator")
    if own:
        return str(own)
    return next((d for b in bases(name) if (d := discriminator(b))), None)


def struct_info(cls: type) -> mi.StructType:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType), cls
    return info


def fields_by_name(cls: type) -> dict[str, mi.Field]:
    return {f.encode_name: f for f in struct_info(cls).fields}


def required_names(cls: type) -> set[str]:
    return {f.encode_name for f in struct_info(cls).fields if f.required}


def describe(prop: dict[str, Any]) -> str:
    """A schema property in a few words, for failure messages."""
    if "$ref" in prop:
        return ref_name(prop["$ref"])
    kind = str(prop.get("type"))
    if kind == "array":
        return f"array of {describe(prop['items'])}"
    if kind == "object" and "additionalProperties" in prop:
        return f"map of {describe(prop['additionalProperties'])}"
    if "enum" in prop:
        return f"{kind} enum {prop['enum']}"
    return f"{kind} ({prop['format']})" if "format" in prop else kind


def show(t: mi.Type) -> str:
    """A msgspec type in a few words, for failure messages."""
    if isinstance(t, mi.UnionType):
        return " | ".join(show(m) for m in t.types)
    if isinstance(t, mi.NoneType):
        return "None"
    if isinstance(t, mi.IntType):
        bounds = {I32_BOUNDS: "I32", I64_BOUNDS: "I64", (None, None): "int"}
        return bounds.get((t.ge, t.le), f"int[{t.ge}..{t.le}]")
    if isinstance(t, mi.FloatType):
        return "Double" if (t.ge, t.le) == DOUBLE_BOUNDS else "float"
    if isinstance(t, mi.LiteralType):
        return f"Literal{list(t.values)}"
    if isinstance(t, mi.ListType):
        return f"list[{show(t.item_type)}]"
    if isinstance(t, mi.TupleType):
        return f"tuple[{', '.join(show(i) for i in t.item_types)}]"
    if isinstance(t, mi.DictType):
        return f"dict[{show(t.key_type)}, {show(t.value_type)}]"
    if isinstance(t, mi.StructType):
        return t.cls.__name__
    return {mi.StrType: "str", mi.BoolType: "bool"}.get(type(t), repr(t))


def conforms(prop: dict[str, Any], t: mi.Type) -> bool:
    """Whether msgspec type `t` represents the schema property (None allowed: presence is checked apart).

    string -> str (an enum -> a Literal of the same values; date-time stays a string), boolean -> bool,
    integer -> an int bounded like its int32/int64 format, number -> a finite float (or a float and the
    SpecialDouble strings, as in backlay.betfair.wire.common), array -> list (an array of numbers may be a fixed
    tuple: the ladders), additionalProperties -> dict[str, ...], $ref -> the struct of that name."""
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if prop.get("type") == "number" and len(members) == 2:
            floats = [m for m in members if isinstance(m, mi.FloatType)]
            specials = [m for m in members if isinstance(m, mi.LiteralType)]
            return (len(floats) == 1 and conforms(prop, floats[0]) and len(specials) == 1
                    and set(specials[0].values) <= SPECIAL_DOUBLES)
        if len(members) != 1:
            return False
        t = members[0]
    if "$ref" in prop:
        return isinstance(t, mi.StructType) and t.cls.__name__ == ref_name(prop["$ref"])
    kind = prop.get("type")
    if kind == "string":
        if "enum" in prop:
            return isinstance(t, mi.LiteralType) and set(t.values) == set(prop["enum"])
        return isinstance(t, mi.StrType)
    if kind == "boolean":
        return isinstance(t, mi.BoolType)
    if kind == "integer":
        bounds = {"int32": I32_BOUNDS, "int64": I64_BOUNDS}[prop["format"]]
        return isinstance(t, mi.IntType) and (t.ge, t.le) == bounds
    if kind == "number":
        return isinstance(t, mi.FloatType) and (t.ge, t.le) == DOUBLE_BOUNDS
    if kind == "array":
        items = prop["items"]
        if isinstance(t, mi.ListType):
            return conforms(items, t.item_type)
        if isinstance(t, mi.TupleType) and items.get("type") == "number":
            # [level, price, size]: the level is a whole number, 0 for the best price (003:L6379-6382, L6396)
            return all(conforms(items, it) or (i == 0 and len(t.item_types) == 3 and isinstance(it, mi.IntType))
                       for i, it in enumerate(t.item_types))
        return False
    if kind == "object" and "additionalProperties" in prop:
        return (isinstance(t, mi.DictType) and isinstance(t.key_type, mi.StrType)
                and conforms(prop["additionalProperties"], t.value_type))
    return False


def literal_in(t: mi.Type) -> mi.LiteralType | None:
    """The Literal of an enum field: `Literal[...] | None` or `list[Literal[...]] | None`."""
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        t = members[0] if len(members) == 1 else t
    if isinstance(t, mi.ListType):
        t = t.item_type
    return t if isinstance(t, mi.LiteralType) else None


def check_definition(name: str, cls: type) -> list[str]:
    """Names, then types, of `cls` against the schema definition `name` (`op` is the tag, not a field)."""
    props = {k: v for k, v in properties(name).items() if k != discriminator(name)}
    fields = fields_by_name(cls)
    problems = [f"{name}.{k}: in the schema ({describe(props[k])}) but no field in {cls.__name__}"
                for k in sorted(props.keys() - fields.keys())]
    problems += [f"{name}.{k}: field of {cls.__name__} ({show(fields[k].type)}) not in the schema"
                 for k in sorted(fields.keys() - props.keys())]
    for k in sorted(props.keys() & fields.keys()):
        if not conforms(props[k], fields[k].type):
            hint = ""
            if props[k].get("type") == "number" and "str |" in show(fields[k].type):
                hint = " (str admits any string; backlay's non-finite doubles are SpecialDouble, a Literal)"
            problems.append(f"{name}.{k}: schema {describe(props[k])}, struct {show(fields[k].type)}{hint}")
    return problems


# --- (1) the structs against the schema --------------------------------------------------------------


@needs_spec
def test_every_schema_definition_has_a_struct() -> None:
    """Every definition of ESASwaggerSchema.json (003:L5984-5997) but the two bases and the two example
    wrappers is a struct of the same name in backlay.betfair.wire.stream, exported."""
    assert set(schema()) - NOT_STRUCTS == set(DEFS)
    for name, (cls, _) in DEFS.items():
        assert cls.__name__ == name and name in ws.__all__ and getattr(ws, name) is cls
        assert issubclass(cls, ws.StreamStruct)


@needs_spec
@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in DEFS])
def test_struct_has_exactly_the_schema_properties_and_types(name: str) -> None:
    """Each struct's wire names (encode names) are exactly the definition's properties, inherited `id`
    included and the `op` discriminator excluded, each typed as the schema says: string, boolean, integer
    within its int32/int64 bounds, finite double, arrays of the right items, enums as Literals of the same
    values, nested definitions by name (cited per definition in REQUEST_DEFS / RESPONSE_DEFS, e.g. Order
    003:L6558-6590, MarketDefinition 003:L6401-6481 with the corrections of stream-identity-accounts.md §6.11)."""
    cls, lines = DEFS[name]
    problems = check_definition(name, cls)
    assert not problems, f"{name} ({lines}) differs from ESASwaggerSchema.json:\n" + "\n".join(problems)


@needs_spec
def test_op_is_the_tag_of_every_message() -> None:
    """`op` is the discriminator of RequestMessage and ResponseMessage (003:L6017-6050); each message
    inherits from one of them and its tag is its op: authentication, marketSubscription, orderSubscription,
    heartbeat (003:L6027-6040); connection, status, mcm, ocm (003:L6041-6050). The schema's example wrappers
    list the same ops; REQUESTS maps each request op to its struct; parts of messages have no tag."""
    assert schema()["RequestMessage"]["discriminator"] == "op" == schema()["ResponseMessage"]["discriminator"]
    request_ops = schema()["AllRequestTypesExample"]["properties"]["opTypes"]["enum"]
    response_ops = schema()["AllResponseTypesExample"]["properties"]["opTypes"]["enum"]
    messages = {n for n in schema() if bases(n)}
    assert messages == set(OPS)
    for name, op in OPS.items():
        cls = DEFS[name][0]
        base, struct_base = (("RequestMessage", ws.RequestMessage) if name in REQUEST_DEFS
                             else ("ResponseMessage", ws.ResponseMessage))
        assert bases(name) == [base] and discriminator(name) == "op", name
        assert issubclass(cls, struct_base), name
        info = struct_info(cls)
        assert (info.tag_field, info.tag) == ("op", op), name
        assert op in (request_ops if name in REQUEST_DEFS else response_ops), name
    assert set(request_ops) == {OPS[n] for n in REQUEST_DEFS if n in OPS}
    assert set(response_ops) == {OPS[n] for n in RESPONSE_DEFS if n in OPS}
    assert {OPS[n]: DEFS[n][0] for n in REQUEST_DEFS if n in OPS} == ws.REQUESTS
    for name in set(DEFS) - set(OPS):
        assert struct_info(DEFS[name][0]).tag is None, name
    # the tag is written first, before the fields
    assert ws.encode(ws.HeartbeatMessage(id=3)) == b'{"op":"heartbeat","id":3}'
    assert ws.encode(ws.MarketChangeMessage(id=2, pt=1)).startswith(b'{"op":"mcm",')


@needs_spec
def test_enums_match_the_schema() -> None:
    """The module's enum Literals and tuples are the schema's enums: ErrorCode (003:L6062-6113, plus Swagger's
    INVALID_REQUEST, stream-identity-accounts.md §6.4), ChangeType (003:L6166-6173), SegmentType
    (003:L6174-6178), MarketDataFilter fields (003:L6307-6350), bettingTypes (§6.8), market and runner
    statuses (§6.11), and the order codes side/status/pt/ot (003:L6564-6570)."""
    status, mcm, ocm = properties("StatusMessage"), properties("MarketChangeMessage"), properties("OrderChangeMessage")
    assert list(ws.ERROR_CODES) == status["errorCode"]["enum"] == list(get_args(ws.ErrorCode))
    assert list(get_args(ws.ChangeType)) == mcm["ct"]["enum"] == ocm["ct"]["enum"]
    assert list(get_args(ws.SegmentType)) == mcm["segmentType"]["enum"] == ocm["segmentType"]["enum"]
    assert list(ws.FIELDS) == properties("MarketDataFilter")["fields"]["items"]["enum"] == list(get_args(ws.Field))
    betting_types = properties("MarketFilter")["bettingTypes"]["items"]["enum"]
    assert list(get_args(ws.BettingType)) == betting_types == properties("MarketDefinition")["bettingType"]["enum"]
    enums: dict[tuple[str, str], list[str]] = {}  # (definition, property) -> the schema's values
    for d in DEFS:
        for p, prop in properties(d).items():
            if "enum" in prop.get("items", prop) and p != discriminator(d):
                enums[(d, p)] = prop.get("items", prop)["enum"]
    assert len(enums) == 16, sorted(enums)
    problems = []
    for (d, p), values in enums.items():
        lit = literal_in(fields_by_name(DEFS[d][0])[p].type)
        if lit is None or set(lit.values) != set(values):
            problems.append(f"{d}.{p}: struct {show(fields_by_name(DEFS[d][0])[p].type)} != schema enum {values}")
    assert not problems, "\n".join(problems)
    assert set(enums[("Order", "side")]) == {"B", "L"} and set(enums[("Order", "status")]) == {"E", "EC"}
    assert set(enums[("Order", "pt")]) == {"L", "P", "MOC"} and set(enums[("Order", "ot")]) == {"L", "LOC", "MOC"}


@needs_spec
def test_ladders_are_level_triples_or_price_pairs() -> None:
    """batb/batl/bdatb/bdatl are "LevelPriceVol triple[s] ... keyed by level" (003:L6379-6382); atb/atl/spb/
    spl/trd are "PriceVol tuple[s]" keyed by price (003:L6383-6389); mb/ml, on runners and strategies, are
    [price, size] pairs (003:L6591-6595)."""
    arity = {}
    for name, prop in properties("RunnerChange").items():
        if prop.get("type") == "array":
            arity[name] = 3 if "LevelPriceVol triple" in prop["description"] else 2
            assert arity[name] == 3 or "PriceVol tuple" in prop["description"], name
    assert {k for k, v in arity.items() if v == 3} == {"batb", "batl", "bdatb", "bdatl"}
    ladders: list[tuple[type, str, int]] = [(ws.RunnerChange, k, n) for k, n in arity.items()]
    ladders += [(cls, k, 2) for cls in (ws.OrderRunnerChange, ws.StrategyMatchChange) for k in ("mb", "ml")]
    for cls, key, n in ladders:
        t = fields_by_name(cls)[key].type
        assert isinstance(t, mi.UnionType), (cls, key)
        (member,) = [m for m in t.types if not isinstance(m, mi.NoneType)]
        assert isinstance(member, mi.ListType) and isinstance(member.item_type, mi.TupleType), (cls, key)
        assert len(member.item_type.item_types) == n, (cls.__name__, key)


@needs_spec
def test_required_fields() -> None:
    """The schema marks no property required, so requests have no required field: every key may be absent
    (betfairlightweight leaves them out or sends null, stream-identity-accounts.md §6.6). Responses require
    exactly RESPONSE_REQUIRED: what clients read without a default (§6.3, §6.7, §6.11, §6.14) and the ids."""
    def has_required(node: Any) -> bool:
        if isinstance(node, dict):
            return "required" in node or any(has_required(v) for v in node.values())
        return isinstance(node, list) and any(has_required(v) for v in node)

    assert not [name for name, definition in schema().items() if has_required(definition)]
    problems = []
    for name, (cls, _) in REQUEST_DEFS.items():
        if required_names(cls):
            problems.append(f"request {name}: required {sorted(required_names(cls))}, expected none")
    for name, (cls, _) in RESPONSE_DEFS.items():
        if required_names(cls) != RESPONSE_REQUIRED[name]:
            problems.append(f"{name}: required {sorted(required_names(cls))} != {sorted(RESPONSE_REQUIRED[name])}")
    assert not problems, "\n".join(problems)


def test_betfairlightweight_requires_what_the_notes_say() -> None:
    """§6.11 and §6.14 list the keys betfairlightweight's MarketDefinition, MarketDefinitionRunner and
    UnmatchedOrder take without a default; the installed client agrees. MarketDefinitionRunner takes no
    **kwargs, so a RunnerDefinition may only carry keys it knows."""
    resources = pytest.importorskip("betfairlightweight.resources.streamingresources")
    cache = pytest.importorskip("betfairlightweight.streaming.cache")

    def params(cls: type) -> tuple[set[str], set[str], bool]:
        ps = list(inspect.signature(cls).parameters.values())
        named = [p for p in ps if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        return ({p.name for p in named if p.default is p.empty}, {p.name for p in named},
                any(p.kind is p.VAR_KEYWORD for p in ps))

    md_required, _, _ = params(resources.MarketDefinition)
    runner_required, runner_known, runner_kwargs = params(resources.MarketDefinitionRunner)
    order_required, _, _ = params(cache.UnmatchedOrder)
    assert md_required == BFLW_MARKET_DEFINITION
    assert runner_required == BFLW_RUNNER_DEFINITION
    assert order_required - {"publish_time"} == BFLW_UNMATCHED_ORDER
    assert not runner_kwargs and set(fields_by_name(ws.RunnerDefinition)) <= runner_known


# --- (2) lenient request decoding --------------------------------------------------------------------


def test_betfairlightweight_subscriptions_with_nulls() -> None:
    """betfairlightweight sends unset options as null: `"initialClk": null, "clk": null, "conflateMs": null,
    "heartbeatMs": null` and possibly `"orderFilter": null` (stream-identity-accounts.md §6.6 on 003:L6154,
    the fields at 003:L6143-6158); null means absent, never INVALID_INPUT."""
    market = decode_as(ws.MarketSubscriptionMessage, b"""{"op": "marketSubscription", "id": 2,
        "marketFilter": {"marketIds": ["1.120684740"]}, "marketDataFilter": {"fields": ["EX_BEST_OFFERS",
        "EX_MARKET_DEF"], "ladderLevels": 3}, "initialClk": null, "clk": null, "conflateMs": null,
        "heartbeatMs": null, "segmentationEnabled": true}""")
    assert market == ws.MarketSubscriptionMessage(
        id=2, marketFilter=ws.MarketFilter(marketIds=["1.120684740"]),
        marketDataFilter=ws.MarketDataFilter(fields=["EX_BEST_OFFERS", "EX_MARKET_DEF"], ladderLevels=3),
        segmentationEnabled=True)
    order = decode_as(ws.OrderSubscriptionMessage, b"""{"op": "orderSubscription", "id": 3, "orderFilter": null,
        "initialClk": null, "clk": null, "conflateMs": null, "heartbeatMs": null, "segmentationEnabled": true}""")
    assert order == ws.OrderSubscriptionMessage(id=3, segmentationEnabled=True)
    nested = decode_as(ws.OrderSubscriptionMessage, b"""{"op": "orderSubscription", "orderFilter":
        {"includeOverallPosition": null, "customerStrategyRefs": ["b1"], "partitionMatchedByStrategyRef": null}}""")
    assert nested.orderFilter == ws.OrderFilter(customerStrategyRefs=["b1"])
    resub = decode_as(ws.MarketSubscriptionMessage,
                      b'{"op":"marketSubscription","id":4,"initialClk":"AQECAw==","clk":"AQUGAA==","marketFilter":null}')
    assert (resub.initialClk, resub.clk, resub.marketFilter) == ("AQECAw==", "AQUGAA==", None)


def test_messages_sent_by_betfairlightweight_itself() -> None:
    """The bytes betfairlightweight's BetfairStream writes for a heartbeat and both subscriptions with their
    defaults (nulls included, stream-identity-accounts.md §6.6, 003:L6154), and its authentication message
    (§6.5, built here as its authenticate() builds it: that one waits for an answer), decode as their op's
    struct through REQUESTS (003:L6027-6040)."""
    betfairstream = pytest.importorskip("betfairlightweight.streaming.betfairstream")
    listener_mod = pytest.importorskip("betfairlightweight.streaming.listener")

    sent: list[bytes] = []

    class Socket:
        def sendall(self, data: bytes) -> None:
            sent.append(data)

    stream = betfairstream.BetfairStream(unique_id=0, listener=listener_mod.StreamListener(), app_key="key",
                                         session_token="token", timeout=1.0, buffer_size=1024, host=None)
    stream._running, stream._socket = True, Socket()
    stream.heartbeat()
    stream.subscribe_to_markets({"marketIds": ["1.1"], "eventTypeIds": ["7"]},
                                {"fields": ["EX_ALL_OFFERS"], "ladderLevels": 3})
    stream.subscribe_to_orders()
    sent.insert(0, json.dumps({"op": "authentication", "id": 0, "appKey": "key", "session": "token"}).encode())
    decoded = []
    for raw in sent:
        op = json.loads(raw)["op"]
        decoded.append(decode_as(ws.REQUESTS[op], raw.rstrip(b"\r\n")))
    sent_json = [json.loads(raw) for raw in sent]
    assert sent_json[2]["initialClk"] is None and sent_json[3]["orderFilter"] is None
    assert sent_json[2]["conflateMs"] is None and sent_json[3]["heartbeatMs"] is None
    assert decoded == [
        ws.AuthenticationMessage(id=0, appKey="key", session="token"),
        ws.HeartbeatMessage(id=1),
        ws.MarketSubscriptionMessage(id=2, marketFilter=ws.MarketFilter(marketIds=["1.1"], eventTypeIds=["7"]),
                                     marketDataFilter=ws.MarketDataFilter(fields=["EX_ALL_OFFERS"], ladderLevels=3),
                                     segmentationEnabled=True),
        ws.OrderSubscriptionMessage(id=3, segmentationEnabled=True),
    ]


def test_strings_for_numbers_and_booleans_and_ints_for_string_ids() -> None:
    """Requests are decoded as leniently as the HTTP APIs (backlay.betfair.wire.common.decode_as, 003:L10661-10668):
    `"id": "5"`, `"heartbeatMs": "5000"`, `"segmentationEnabled": "true"`, `"ladderLevels": "3"`,
    `"accountIds": ["1234"]`, and ids sent as numbers where the schema says string (`"eventTypeIds": [7]`,
    003:L6237-6241)."""
    market = decode_as(ws.MarketSubscriptionMessage, b"""{"op": "marketSubscription", "id": "5",
        "heartbeatMs": "5000", "conflateMs": "0", "segmentationEnabled": "true",
        "marketFilter": {"eventTypeIds": [7], "bspMarket": "false", "turnInPlayEnabled": "1"},
        "marketDataFilter": {"ladderLevels": "3"}}""")
    assert market == ws.MarketSubscriptionMessage(
        id=5, heartbeatMs=5000, conflateMs=0, segmentationEnabled=True,
        marketFilter=ws.MarketFilter(eventTypeIds=["7"], bspMarket=False, turnInPlayEnabled=True),
        marketDataFilter=ws.MarketDataFilter(ladderLevels=3))
    order = decode_as(ws.OrderSubscriptionMessage, b"""{"op": "orderSubscription", "heartbeatMs": "500",
        "orderFilter": {"includeOverallPosition": "false", "accountIds": ["1234"],
        "partitionMatchedByStrategyRef": "true"}}""")
    assert order == ws.OrderSubscriptionMessage(heartbeatMs=500, orderFilter=ws.OrderFilter(
        includeOverallPosition=False, accountIds=[1234], partitionMatchedByStrategyRef=True))
    assert decode_as(ws.HeartbeatMessage, b'{"op": "heartbeat", "id": "7"}') == ws.HeartbeatMessage(id=7)
    assert decode_as(ws.AuthenticationMessage, {"op": "authentication", "appKey": "k", "session": None}) == \
        ws.AuthenticationMessage(appKey="k")


def test_unknown_keys_are_ignored_and_requests_round_trip() -> None:
    """Keys the schema does not name are ignored; what backlay encodes it decodes back unchanged
    (the 003:L6297-6304 example subscription)."""
    example = (b'{"op":"marketSubscription","id":2,"marketFilter":{"marketIds":["1.120684740"],"bspMarket":true,'
               b'"bettingTypes":["ODDS"],"eventTypeIds":["1"],"eventIds":["27540841"],"turnInPlayEnabled":true,'
               b'"marketTypes":["MATCH_ODDS"],"countryCodes":["ES"]},"marketDataFilter":{}}')
    msg = decode_as(ws.MarketSubscriptionMessage, example)
    assert msg.marketFilter is not None and msg.marketFilter.countryCodes == ["ES"]
    assert json.loads(ws.encode(msg)) == json.loads(example)
    assert decode_as(ws.MarketSubscriptionMessage, ws.encode(msg)) == msg
    extra = decode_as(ws.HeartbeatMessage, b'{"op": "heartbeat", "id": 1, "clientVersion": "x"}')
    assert extra == ws.HeartbeatMessage(id=1)


def test_bad_requests_are_params_errors_naming_the_field() -> None:
    """What cannot be decoded is a ParamsError naming the field (answered INVALID_INPUT, 003:L6069-6074):
    another op than the struct's, non-numeric numbers, an id beyond int32 (Swagger, §6.2), unknown enum
    values of fields (003:L6311-6350) and bettingTypes (§6.8)."""
    cases: list[tuple[type, bytes, str, str | None]] = [
        (ws.AuthenticationMessage, b'{"op": "heartbeat"}', "type", "op"),
        (ws.MarketSubscriptionMessage, b'{"op": "marketSubscription", "heartbeatMs": "abc"}', "type", "heartbeatMs"),
        (ws.MarketSubscriptionMessage, b'{"op": "marketSubscription", "id": 2147483648}', "type", "id"),
        (ws.MarketSubscriptionMessage, b'{"op": "marketSubscription", "marketDataFilter": {"fields": ["EX_X"]}}',
         "type", "marketDataFilter.fields[0]"),
        (ws.MarketSubscriptionMessage, b'{"op": "marketSubscription", "marketFilter": {"bettingTypes": ["X"]}}',
         "type", "marketFilter.bettingTypes[0]"),
        (ws.OrderSubscriptionMessage, b'{"op": "orderSubscription", "orderFilter": {"accountIds": [1.5]}}',
         "type", "orderFilter.accountIds[0]"),
        (ws.OrderSubscriptionMessage, b'{"op": "orderSubscription", "orderFilter": 3}', "type", "orderFilter"),
        (ws.HeartbeatMessage, b'{"op": "heartbeat", "id": ', "parse", None),
    ]
    for cls, raw, kind, field in cases:
        with pytest.raises(ParamsError) as err:
            decode_as(cls, raw)
        assert (err.value.kind, err.value.field) == (kind, field), raw


# --- (3) exact response encoding ---------------------------------------------------------------------


def test_connection_and_status_messages() -> None:
    """The real ConnectionMessage (§6.5: no id, 003:L6114-6117) and success status (§6.3:
    `{"op":"status","id":2,"statusCode":"SUCCESS","connectionClosed":false}`); `connectionClosed` is always
    written, false included, and cannot be left out (003:L6057, bflw stops on it); None fields are omitted."""
    conn = ws.ConnectionMessage(connectionId="002-051134157842-432409")
    assert ws.encode(conn) == b'{"op":"connection","connectionId":"002-051134157842-432409"}'
    ok = ws.StatusMessage(id=2, statusCode="SUCCESS", connectionClosed=False)
    assert ws.encode(ok) == b'{"op":"status","id":2,"statusCode":"SUCCESS","connectionClosed":false}'
    auth = ws.StatusMessage(id=1, statusCode="SUCCESS", connectionClosed=False, connectionsAvailable=9)
    assert json.loads(ws.encode(auth)) == {"op": "status", "id": 1, "statusCode": "SUCCESS",
                                           "connectionClosed": False, "connectionsAvailable": 9}
    fail = ws.StatusMessage(statusCode="FAILURE", connectionClosed=True, errorCode="INVALID_INPUT",
                            errorMessage="could not deserialise")
    assert json.loads(ws.encode(fail)) == {"op": "status", "statusCode": "FAILURE", "connectionClosed": True,
                                           "errorCode": "INVALID_INPUT", "errorMessage": "could not deserialise"}
    with pytest.raises(TypeError, match="connectionClosed"):
        ws.StatusMessage(id=1, statusCode="SUCCESS")  # type: ignore[call-arg]


def test_change_messages_omit_what_is_absent() -> None:
    """A heartbeat (`{"op":"mcm","id":2,"clk":"APIDAO4EAK8D","pt":1471370165625,"ct":"HEARTBEAT"}`) has no
    `mc`; an ordinary delta has no `ct` (003:L6173, §6.7); a market delta carries only what changed
    (003:L6370, 003:L6393-6394); an empty ladder stays `[]` (003:L6604-6607); 503 status (003:L6807)."""
    hb = ws.MarketChangeMessage(id=2, clk="APIDAO4EAK8D", pt=1471370165625, ct="HEARTBEAT")
    assert json.loads(ws.encode(hb)) == {"op": "mcm", "id": 2, "clk": "APIDAO4EAK8D", "pt": 1471370165625,
                                         "ct": "HEARTBEAT"}
    delta = ws.MarketChangeMessage(id=2, clk="AHMAcArtjjje", pt=1471370160471,
                                   mc=[ws.MarketChange(id="1.126235656", tv=69.69)])
    assert json.loads(ws.encode(delta)) == {"op": "mcm", "id": 2, "clk": "AHMAcArtjjje", "pt": 1471370160471,
                                            "mc": [{"id": "1.126235656", "tv": 69.69}]}
    rc = ws.RunnerChange(id=11131804, batb=[(0, 2.54, 7.95)], batl=[], ltp=0.0, tv=0.0)
    assert json.loads(ws.encode(rc)) == {"id": 11131804, "tv": 0, "ltp": 0, "batb": [[0, 2.54, 7.95]], "batl": []}
    ocm = ws.OrderChangeMessage(id=3, clk="AAAAAAAA", status=503, pt=1498137379766, ct="HEARTBEAT")
    assert json.loads(ws.encode(ocm)) == {"op": "ocm", "id": 3, "clk": "AAAAAAAA", "status": 503,
                                          "pt": 1498137379766, "ct": "HEARTBEAT"}
    empty = ws.OrderMarketChange(id="1.161613698", accountId=1234567, fullImage=True)
    assert json.loads(ws.encode(empty)) == {"accountId": 1234567, "fullImage": True, "id": "1.161613698"}
    with pytest.raises(TypeError, match="pt"):
        ws.MarketChangeMessage(id=2)  # type: ignore[call-arg]


def _order(**overrides: Any) -> ws.Order:
    kwargs: dict[str, Any] = dict(id="78996704480", p=1.02, s=2.0, side="L", status="E", pt="L", ot="L",
                                  pd=1478546670000, cd=1478546670001, sm=0.0, sr=2.0, sl=0.0, sc=0.0, sv=0.0,
                                  rac="", rc="REG_GGC", rfo="", rfs="")
    kwargs.update(overrides)
    return ws.Order(**kwargs)


def test_order_always_carries_sizes_and_references() -> None:
    """The real `uo` element of §6.14 (003:L6558-6590): every size at 0 rather than absent and `rfo`/`rfs`
    as "" (betfairlightweight's UnmatchedOrder requires id,p,s,side,status,ot,pd,sm,sr,sl,sc,sv,rfo,rfs);
    the optional dates, bsp, avp and lsrc are omitted when None; leaving out a size or a reference is an error."""
    real = {"id": "78996704480", "p": 1.02, "s": 2, "side": "L", "status": "E", "pt": "L", "ot": "L",
            "pd": 1478546670000, "cd": 1478546670001, "sm": 0, "sr": 2, "sl": 0, "sc": 0, "sv": 0, "rac": "",
            "rc": "REG_GGC", "rfo": "", "rfs": ""}
    assert json.loads(ws.encode(_order())) == real
    bare = ws.Order(id="1", p=2.0, s=5.0, side="B", status="EC", pt="P", ot="L", pd=1, sm=5.0, sr=0.0,
                    sl=0.0, sc=0.0, sv=0.0, rfo="", rfs="")
    assert set(json.loads(ws.encode(bare))) == BFLW_UNMATCHED_ORDER | {"pt"}
    for key in ("sm", "sr", "sl", "sc", "sv", "rfo", "rfs"):
        kwargs = msgspec.structs.asdict(bare)
        del kwargs[key]
        with pytest.raises(TypeError, match=key):
            ws.Order(**kwargs)


def _market_definition() -> ws.MarketDefinition:
    """The real marketDefinition of stream-identity-accounts.md §6.11 (bflw streaming_mcm_SUB_IMAGE.json)."""
    raw = b"""{"bspMarket":true,"turnInPlayEnabled":true,"persistenceEnabled":true,"marketBaseRate":5,
      "eventId":"27890558","eventTypeId":"7","numberOfWinners":1,"bettingType":"ODDS","marketType":"WIN",
      "marketTime":"2016-08-17T18:10:00.000Z","suspendTime":"2016-08-17T18:10:00.000Z","bspReconciled":false,
      "complete":true,"inPlay":false,"crossMatching":false,"runnersVoidable":false,"numberOfActiveRunners":7,
      "betDelay":0,"status":"OPEN","runners":[{"adjustmentFactor":44.323,"status":"ACTIVE","sortPriority":1,
      "id":11131804}],"regulators":["MR_INT"],"venue":"Kempton","countryCode":"GB","discountAllowed":true,
      "timezone":"Europe/London","openDate":"2016-08-17T17:40:00.000Z","version":1400311331}"""
    return msgspec.json.decode(raw, type=ws.MarketDefinition)


def test_market_definition_carries_every_key_betfairlightweight_requires() -> None:
    """MarketDefinition is sent in full (003:L6366) with every key betfairlightweight's MarketDefinition
    requires (stream-identity-accounts.md §6.11), false and 0 included; runners carry id, sortPriority and
    status; unset optional keys (raceType, settledTime, lineMaxUnit, ...) are omitted."""
    md = _market_definition()
    out = json.loads(ws.encode(md))
    assert set(out) >= BFLW_MARKET_DEFINITION
    assert (out["betDelay"], out["inPlay"], out["crossMatching"], out["regulators"]) == (0, False, False, ["MR_INT"])
    assert set(out) - BFLW_MARKET_DEFINITION == {"marketType", "suspendTime", "venue", "countryCode", "openDate"}
    assert out["runners"] == [{"id": 11131804, "sortPriority": 1, "status": "ACTIVE", "adjustmentFactor": 44.323}]
    minimal = ws.RunnerDefinition(id=1, sortPriority=2, status="REMOVED")
    assert json.loads(ws.encode(minimal)) == {"id": 1, "sortPriority": 2, "status": "REMOVED"}
    kwargs = msgspec.structs.asdict(md)
    del kwargs["timezone"]
    with pytest.raises(TypeError, match="timezone"):
        ws.MarketDefinition(**kwargs)


def test_betfairlightweight_reads_what_backlay_writes() -> None:
    """betfairlightweight's own resources accept the encoded MarketDefinition (§6.11) and Order (§6.14), and
    keep the values (a missing key would raise TypeError there)."""
    resources = pytest.importorskip("betfairlightweight.resources.streamingresources")
    cache = pytest.importorskip("betfairlightweight.streaming.cache")
    md = resources.MarketDefinition(**json.loads(ws.encode(_market_definition())))
    assert (md.bet_delay, md.timezone, md.version, md.runners[0].selection_id) == (0, "Europe/London", 1400311331,
                                                                                  11131804)
    order = cache.UnmatchedOrder(publish_time=1478546670002, **json.loads(ws.encode(_order())))
    assert (order.bet_id, order.size_remaining, order.reference_order, order.reference_strategy) == (
        "78996704480", 2, "", "")


def test_responses_round_trip_through_a_strict_decoder() -> None:
    """What backlay writes, a strict typed decoder reads back unchanged: tags, nested definitions, ladders as
    tuples, strategy maps (003:L6533-6538)."""
    mcm = ws.MarketChangeMessage(id=2, ct="SUB_IMAGE", initialClk="AQECAw==", clk="AQECAA==", conflateMs=0,
                                 heartbeatMs=5000, pt=1471370160471, mc=[ws.MarketChange(
                                     id="1.126235656", img=True, tv=0.0, marketDefinition=_market_definition(),
                                     rc=[ws.RunnerChange(id=11131804, atb=[(2.54, 7.95)], trd=[])])])
    assert msgspec.json.decode(ws.encode(mcm), type=ws.MarketChangeMessage) == mcm
    ocm = ws.OrderChangeMessage(id=6, pt=1468943673782, oc=[ws.OrderMarketChange(id="1.125657760", orc=[
        ws.OrderRunnerChange(id=151478, fullImage=True, uo=[_order()], mb=[(12.0, 4.75)],
                             smc={"b1": ws.StrategyMatchChange(mb=[(12.0, 4.75)])})])])
    assert msgspec.json.decode(ws.encode(ocm), type=ws.OrderChangeMessage) == ocm
    union = msgspec.json.Decoder(ws.ConnectionMessage | ws.StatusMessage | ws.MarketChangeMessage
                                 | ws.OrderChangeMessage)
    assert union.decode(ws.encode(ocm)) == ocm and union.decode(ws.encode(mcm)) == mcm
