"""backlay.betfair.wire: the structs checked against Betfair's interface definitions
(../shared/spec/official/{Sports,Account,Heartbeat}APING.xml), lenient request decoding with the
documented requests, and exact response encoding (betting-api.md §1.4, §1.7)."""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import msgspec
import msgspec.inspect as mi
import pytest

from backlay.betfair import wire
from backlay.betfair.wire import accounts, betting, heartbeat
from backlay.betfair.wire.common import Instant, ParamsError, WireStruct, decode_as, encode

# The spec lives beside the project, never inside it: ../shared from the repository root.
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = REPO_ROOT.parent / "shared" / "spec" / "official"

needs_spec = pytest.mark.skipif(
    not SPEC_DIR.is_dir(), reason=f"Betfair interface definitions not found: {SPEC_DIR} (../shared is absent)"
)

SERVICES = [
    pytest.param("SportsAPING.xml", betting, "APINGExceptionCode", id="SportsAPING"),
    pytest.param("AccountAPING.xml", accounts, "AccountAPINGExceptionCode", id="AccountAPING"),
    pytest.param("HeartbeatAPING.xml", heartbeat, "HeartbeatAPINGExceptionCode", id="HeartbeatAPING"),
]

# --- the XML, read -----------------------------------------------------------------------------------


@dataclass
class Param:
    name: str
    type: str
    mandatory: bool


@dataclass
class Interface:
    operations: dict[str, tuple[list[Param], str]]  # name -> (request parameters, response type)
    data_types: dict[str, list[Param]]
    enums: dict[str, list[str]]  # simpleTypes with validValues
    aliases: dict[str, str]  # simpleTypes without: name -> underlying type
    exceptions: dict[str, tuple[list[Param], list[str]]]  # name -> (parameters, errorCode values)


def _params(parent: ET.Element | None) -> list[Param]:
    if parent is None:
        return []
    return [Param(p.get("name", ""), p.get("type", ""), p.get("mandatory") == "true")
            for p in parent.findall("parameter")]


@functools.cache
def load(xml_file: str) -> Interface:
    root = ET.parse(SPEC_DIR / xml_file).getroot()
    iface = Interface({}, {}, {}, {}, {})
    for op in root.findall("operation"):
        params = op.find("parameters")
        assert params is not None
        response = params.find("simpleResponse")
        assert response is not None
        iface.operations[op.get("name", "")] = (_params(params.find("request")), response.get("type", ""))
    for dt in root.findall("dataType"):
        iface.data_types[dt.get("name", "")] = _params(dt)
    for st in root.findall("simpleType"):
        values = [v.get("name", "") for v in st.findall("validValues/value")]
        if values:
            iface.enums[st.get("name", "")] = values
        else:
            iface.aliases[st.get("name", "")] = st.get("type", "")
    for ex in root.findall("exceptionType"):
        codes = [v.get("name", "") for v in ex.findall("parameter[@name='errorCode']/validValues/value")]
        iface.exceptions[ex.get("name", "")] = (_params(ex), codes)
    return iface


# --- where the structs knowingly differ from the XML -------------------------------------------------

# Match.Size: Betfair sends "size", and clients read "size" (betting-api.md §1.7, Match row).
WIRE_NAMES = {("Match", "Size"): "size"}

# Mandatory in the XML but absent from real responses: Runner.adjustmentFactor on open markets
# (003:L2790-2800), matchedDate of unmatched orders, sizeCancelled/cancelledDate of failed cancels.
OPTIONAL_DESPITE_XML = {
    ("Runner", "adjustmentFactor"),
    ("CurrentOrderSummary", "matchedDate"),
    ("CancelInstructionReport", "sizeCancelled"),
    ("CancelInstructionReport", "cancelledDate"),
}

_SIZES = {"sizeMatched", "sizeRemaining", "sizeLapsed", "sizeCancelled", "sizeVoided"}

# Keys a client needs whatever the XML says: betting-api.md §1.7 (betfairlightweight constructors) and
# stream-identity-accounts.md §11.6 (AccountStatement, LegacyData); MarketBook.runners and
# RunnerProfitAndLoss.selectionId because betfairlightweight iterates / requires them.
CLIENT_REQUIRED: dict[str, set[str]] = {
    "MarketBook": {"marketId", "isMarketDataDelayed", "runners"},
    "Runner": {"selectionId", "status", "handicap"},
    "ExchangePrices": {"availableToBack", "availableToLay", "tradedVolume"},
    "StartingPrices": {"backStakeTaken", "layLiabilityTaken"},
    "Order": {"betId", "avgPriceMatched", "bspLiability", "orderType", "persistenceType", "price", "side",
              "status", "size", "placedDate"} | _SIZES,
    "Match": {"price", "side", "size"},
    "CurrentOrderSummary": {"betId", "averagePriceMatched", "bspLiability", "handicap", "marketId", "orderType",
                            "persistenceType", "placedDate", "regulatorCode", "selectionId", "side", "status",
                            "priceSize"} | _SIZES,
    "Event": {"id", "openDate", "timezone", "name"},
    "MarketDescription": {"bettingType", "bspMarket", "marketTime", "suspendTime", "turnInPlayEnabled"},
    "PlaceInstructionReport": {"status"},
    "ReplaceInstructionReport": {"status", "cancelInstructionReport", "placeInstructionReport"},
    "CancelInstructionReport": {"status", "instruction"},
    "UpdateInstructionReport": {"status", "instruction"},
    "PlaceExecutionReport": {"instructionReports"},
    "CancelExecutionReport": {"instructionReports"},
    "ReplaceExecutionReport": {"instructionReports"},
    # betfair-parser declares these three `X | None` without a default: the keys must be there, null or not
    "UpdateExecutionReport": {"instructionReports", "customerRef", "errorCode", "marketId"},
    "CurrentOrderSummaryReport": {"currentOrders"},
    "ClearedOrderSummaryReport": {"clearedOrders"},
    "MarketProfitAndLoss": {"profitAndLosses"},
    "RunnerProfitAndLoss": {"selectionId"},
    "StatementItem": {"amount", "balance", "itemClass", "itemClassData", "itemDate", "refId", "legacyData"},
    "StatementLegacyData": {"avgPrice", "betCategoryType", "betSize", "betType", "eventId", "eventTypeId",
                            "fullMarketName", "grossBetAmount", "transactionId", "marketType", "placedDate",
                            "selectionId", "startDate", "transactionType", "winLose"},
}


# Documented in 003 but missing from the XML, appended after the XML's fields (wire/betting.py docstring):
# 003:L10158-10171, L11330-11334, L12093-12095, L12233-12238.
FROM_003_NOT_XML: dict[str, list[str]] = {
    "ListCurrentOrdersParams": ["includeItemDescription", "includeSourceId"],
    "ListClearedOrdersParams": ["includeSourceId"],
    "CurrentOrderSummary": ["currentItemDescription", "sourceIdKey", "sourceIdDescription"],
    "ClearedOrderSummary": ["sourceIdKey", "sourceIdDescription"],
}


def wire_name(type_name: str, xml_name: str) -> str:
    return WIRE_NAMES.get((type_name, xml_name), xml_name)


def params_struct_name(operation: str) -> str:
    return operation[0].upper() + operation[1:] + "Params"


def encode_names(cls: type) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(cls)]


def required_names(cls: type) -> set[str]:
    return {f.encode_name for f in mi.type_info(cls).fields if f.required}  # type: ignore[attr-defined]


def conforms(xml_type: str, t: mi.Type, iface: Interface) -> bool:
    """Whether msgspec type `t` represents the XML type (None allowed: optionality is checked apart)."""
    if isinstance(t, mi.UnionType):
        members = [m for m in t.types if not isinstance(m, mi.NoneType)]
        if xml_type == "double" and len(members) == 2:  # StartingPrices: float | "NaN" | "Infinity" | ...
            floats = [m for m in members if isinstance(m, mi.FloatType)]
            specials = [m for m in members if isinstance(m, mi.LiteralType)]
            return bool(floats and specials) and set(specials[0].values) <= {"NaN", "Infinity", "-Infinity"}
        if len(members) != 1:
            return False
        t = members[0]
    if m := re.fullmatch(r"(?:list|set)\((.+)\)", xml_type):
        return isinstance(t, mi.ListType) and conforms(m[1].strip(), t.item_type, iface)
    if m := re.fullmatch(r"map\((.+),(.+)\)", xml_type):
        return (isinstance(t, mi.DictType) and conforms(m[1].strip(), t.key_type, iface)
                and conforms(m[2].strip(), t.value_type, iface))
    if xml_type in iface.enums:
        return isinstance(t, mi.LiteralType) and set(t.values) == set(iface.enums[xml_type])
    xml_type = iface.aliases.get(xml_type, xml_type)
    if xml_type == "i32":
        return isinstance(t, mi.IntType) and (t.ge, t.le) == (-(2**31), 2**31 - 1)
    if xml_type == "i64":
        return isinstance(t, mi.IntType) and (t.ge, t.le) == (-(2**63), 2**63 - 1)
    simple = {"double": mi.FloatType, "string": mi.StrType, "bool": mi.BoolType}
    if xml_type in simple:
        return isinstance(t, simple[xml_type])
    if xml_type == "dateTime":
        return isinstance(t, mi.CustomType) and t.cls is Instant
    return isinstance(t, mi.StructType) and t.cls.__name__ == xml_type


def request_types(iface: Interface) -> set[str]:
    """dataTypes reachable from some operation's request parameters."""
    seen: set[str] = set()
    todo = [p.type for params, _ in iface.operations.values() for p in params]
    while todo:
        for name in re.findall(r"\w+", todo.pop()):
            if name in iface.data_types and name not in seen:
                seen.add(name)
                todo.extend(p.type for p in iface.data_types[name])
    return seen


def check_fields(iface: Interface, name: str, cls: Any, xml_params: list[Param]) -> list[str]:
    problems = []
    expected = [wire_name(name, p.name) for p in xml_params] + FROM_003_NOT_XML.get(name, [])
    if encode_names(cls) != expected:
        problems.append(f"{name}: fields {encode_names(cls)} != XML {expected}")
        return problems
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for p, f in zip(xml_params, info.fields[:len(xml_params)], strict=True):
        if not conforms(p.type, f.type, iface):
            problems.append(f"{name}.{f.encode_name}: {f.type} does not represent XML {p.type}")
    return problems


# --- (1) the structs against the XML -----------------------------------------------------------------


@needs_spec
@pytest.mark.parametrize(("xml_file", "module", "codes"), SERVICES)
def test_every_data_type_is_a_struct_with_exactly_the_xml_fields_and_types(
        xml_file: str, module: ModuleType, codes: str) -> None:
    """Each <dataType> is a struct of the same name whose wire field names are the XML's, in the XML's
    order, each typed as the XML says (i32/i64 bounded ints, double, string, bool, dateTime -> Instant,
    list/set -> list, map -> dict, enums -> Literal of the same values, nested dataTypes by name)."""
    iface = load(xml_file)
    assert iface.data_types, f"no dataType in {xml_file}"
    problems = []
    for name, xml_params in iface.data_types.items():
        cls = getattr(module, name, None)
        if not (isinstance(cls, type) and issubclass(cls, WireStruct)):
            problems.append(f"{name}: no struct in {module.__name__}")
            continue
        problems += check_fields(iface, name, cls, xml_params)
    assert not problems, "\n".join(problems)


@needs_spec
@pytest.mark.parametrize(("xml_file", "module", "codes"), SERVICES)
def test_every_operation_has_a_params_struct_and_a_result_type(
        xml_file: str, module: ModuleType, codes: str) -> None:
    """Each <operation> has `<Operation>Params` with exactly its request parameters, mandatory ones required
    and the others optional (a request may omit them), registered in PARAMS; RESULTS holds its
    simpleResponse type."""
    iface = load(xml_file)
    problems = []
    assert set(module.PARAMS) == set(iface.operations)
    assert set(module.RESULTS) == set(iface.operations)
    for op, (xml_params, response) in iface.operations.items():
        cls = getattr(module, params_struct_name(op), None)
        if cls is None or module.PARAMS[op] is not cls:
            problems.append(f"{op}: {params_struct_name(op)} missing or not registered")
            continue
        problems += check_fields(iface, params_struct_name(op), cls, xml_params)
        mandatory = {p.name for p in xml_params if p.mandatory}
        if required_names(cls) != mandatory:
            problems.append(f"{op}: required {sorted(required_names(cls))} != mandatory {sorted(mandatory)}")
        if not conforms(response, mi.type_info(module.RESULTS[op]), iface):
            problems.append(f"{op}: result {module.RESULTS[op]} does not represent XML {response}")
    assert not problems, "\n".join(problems)


@needs_spec
@pytest.mark.parametrize(("xml_file", "module", "codes"), SERVICES)
def test_enums_aliases_and_exceptions_match_the_xml(xml_file: str, module: ModuleType, codes: str) -> None:
    """Every enum simpleType is a Literal of exactly its values in order; every other simpleType is an alias
    of its underlying type; the exceptionType has its three fields and its errorCode values."""
    iface = load(xml_file)
    problems = []
    for name, values in iface.enums.items():
        got = get_args(getattr(module, name, None))
        if list(got) != values:
            problems.append(f"enum {name}: {list(got)} != XML {values}")
    for name, base in iface.aliases.items():
        alias = getattr(module, name, None)
        if alias is None or not conforms(base, mi.type_info(alias), iface):
            problems.append(f"alias {name}: {alias!r} does not represent XML {base}")
    assert len(iface.exceptions) == 1
    (name, (xml_params, error_codes)), = iface.exceptions.items()
    cls = getattr(module, name)
    assert encode_names(cls) == [p.name for p in xml_params]
    assert list(get_args(getattr(module, codes))) == error_codes
    assert not problems, "\n".join(problems)


@needs_spec
@pytest.mark.parametrize(("xml_file", "module", "codes"), SERVICES)
def test_required_fields_follow_the_xml_and_the_clients(xml_file: str, module: ModuleType, codes: str) -> None:
    """Request types: required exactly when the XML says mandatory, or valid requests would be refused.
    Response types: required = XML-mandatory (less OPTIONAL_DESPITE_XML) plus the keys clients need
    (CLIENT_REQUIRED, betting-api.md §1.7), and nothing else."""
    iface = load(xml_file)
    in_requests = request_types(iface)
    problems = []
    for name, xml_params in iface.data_types.items():
        cls = getattr(module, name)
        mandatory = {wire_name(name, p.name) for p in xml_params if p.mandatory}
        required = required_names(cls)
        if name in in_requests:
            assert name not in CLIENT_REQUIRED, name
            expected = mandatory
        else:
            dropped = {wire_name(name, f) for t, f in OPTIONAL_DESPITE_XML if t == name}
            expected = (mandatory - dropped) | CLIENT_REQUIRED.get(name, set())
        if required != expected:
            problems.append(f"{name}: required {sorted(required)} != expected {sorted(expected)}")
    assert not problems, "\n".join(problems)


@needs_spec
def test_decode_params_knows_every_operation_of_the_three_services() -> None:
    """decode_params covers every operation; `{}` decodes exactly when no parameter is mandatory, and
    otherwise fails as "missing" naming a mandatory parameter (DSC-0018, 001:L88-224)."""
    operations = {op: params for xml_file in ("SportsAPING.xml", "AccountAPING.xml", "HeartbeatAPING.xml")
                  for op, (params, _) in load(xml_file).operations.items()}
    # listRaceDetails (ScoresAPING) has no official interface file; it follows 003:L8856-9044
    assert set(wire.PARAMS) == set(operations) | {"listRaceDetails"}
    assert sum(len(ops) for ops in wire.SERVICES.values()) == len(wire.PARAMS)
    for op, params in operations.items():
        mandatory = [p.name for p in params if p.mandatory]
        if not mandatory:
            assert isinstance(wire.decode_params(op, b"{}"), wire.PARAMS[op])
            continue
        with pytest.raises(ParamsError) as err:
            wire.decode_params(op, b"{}")
        assert err.value.kind == "missing" and err.value.field in mandatory, (op, err.value)


# --- (2) lenient request decoding --------------------------------------------------------------------


def test_place_orders_documented_request_with_string_numbers() -> None:
    """003:L10653-10676: selectionId, handicap, size and price sent as strings."""
    raw = b"""{"marketId": "1.109850906", "instructions": [{"selectionId": "237486", "handicap": "0",
        "side": "LAY", "orderType": "LIMIT",
        "limitOrder": {"size": "2", "price": "3", "persistenceType": "LAPSE"}}]}"""
    params = wire.decode_params("placeOrders", raw)
    assert isinstance(params, betting.PlaceOrdersParams)
    (ins,) = params.instructions
    assert (ins.selection_id, ins.handicap, ins.side, ins.order_type) == (237486, 0.0, "LAY", "LIMIT")
    assert ins.limit_order == betting.LimitOrder(size=2.0, price=3.0, persistence_type="LAPSE")
    assert isinstance(ins.selection_id, int) and isinstance(ins.limit_order.size, float)


def test_market_version_and_bet_target_as_strings() -> None:
    """003:L10895-10897 (`"marketVersion":{"version":"123456789"}`) and 003:L10921-10923 (bet target, no size)."""
    params = decode_as(betting.PlaceOrdersParams, b"""{"marketId":"1.126086207","instructions":
        [{"selectionId":"63908","handicap":"0","side":"BACK","orderType":"LIMIT","limitOrder":
        {"price":"2","betTargetType":"BACKERS_PROFIT","betTargetSize":"2"}}],"marketVersion":{"version":"123456789"}}""")
    assert params.market_version == betting.MarketVersion(version=123456789)
    lo = params.instructions[0].limit_order
    assert lo is not None and lo.size is None and (lo.bet_target_type, lo.bet_target_size) == ("BACKERS_PROFIT", 2.0)


def test_list_market_book_with_virtualise_as_a_string() -> None:
    """003:L2762-2774: `"virtualise": "true"`."""
    raw = b"""{"marketIds": ["1.127771425"],
        "priceProjection": {"priceData": ["EX_BEST_OFFERS", "EX_TRADED"], "virtualise": "true"}}"""
    params = wire.decode_params("listMarketBook", raw)
    assert isinstance(params, betting.ListMarketBookParams)
    assert params.price_projection == betting.PriceProjection(price_data=["EX_BEST_OFFERS", "EX_TRADED"],
                                                              virtualise=True)
    assert decode_as(betting.PriceProjection, b'{"virtualise": "false"}').virtualise is False


def test_max_results_and_heartbeat_timeout_as_strings() -> None:
    """003:L1305 (`"maxResults": "200"`) and the Heartbeat example (stream-identity-accounts.md §12,
    `{"preferredTimeoutSeconds":"10"}`)."""
    cat = decode_as(betting.ListMarketCatalogueParams, b'{"filter": {"eventIds": ["27165685"]}, "maxResults": "200"}')
    assert cat.max_results == 200
    hb = wire.decode_params("heartbeat", b'{"preferredTimeoutSeconds":"10"}')
    assert hb == heartbeat.HeartbeatParams(preferred_timeout_seconds=10)


def test_int_ids_become_strings() -> None:
    """003:L273-282: `"filter":{"eventTypeIds":[1]}`; ids are Strings (003:L12594-12624). Also from an
    already parsed object, and the ids of other string fields."""
    expected = betting.ListCompetitionsParams(filter=betting.MarketFilter(event_type_ids=["1"]))
    assert wire.decode_params("listCompetitions", b'{"filter":{"eventTypeIds":[1]}}') == expected
    assert wire.decode_params("listCompetitions", {"filter": {"eventTypeIds": [1]}}) == expected
    cancel = decode_as(betting.CancelOrdersParams, b'{"marketId":"1.2","instructions":[{"betId":31242604945}]}')
    assert cancel.instructions == [betting.CancelInstruction(bet_id="31242604945")]
    with pytest.raises(ParamsError) as err:  # booleans are not ids
        decode_as(betting.MarketFilter, b'{"eventIds": [true]}')
    assert (err.value.kind, err.value.field) == ("type", "eventIds[0]")
    with pytest.raises(ParamsError) as err:  # nor floats: market 1.10 would become "1.1"
        decode_as(betting.MarketFilter, b'{"marketIds": [1.10]}')
    assert (err.value.kind, err.value.field) == ("type", "marketIds[0]")


def test_null_is_absent() -> None:
    """Null optional fields decode as absent; a null mandatory field is "missing", not a type error."""
    params = decode_as(betting.ListMarketBookParams,
                       b'{"marketIds": ["1.1"], "priceProjection": null, "locale": null, "betIds": null}')
    assert params == betting.ListMarketBookParams(market_ids=["1.1"])
    nested = decode_as(betting.ListMarketBookParams,
                       b'{"marketIds": ["1.1"], "priceProjection": {"virtualise": null, "priceData": ["SP_TRADED"]}}')
    assert nested.price_projection == betting.PriceProjection(price_data=["SP_TRADED"])
    with pytest.raises(ParamsError) as err:
        wire.decode_params("placeOrders", b'{"marketId": null, "instructions": []}')
    assert (err.value.kind, err.value.field) == ("missing", "marketId")


def test_dates_with_or_without_milliseconds() -> None:
    """003:L776 (`"from": "2014-03-13T00:00:00Z"`) and the millisecond form of 003:L10695."""
    params = decode_as(betting.ListEventsParams, b"""{"filter": {"eventTypeIds": ["1"],
        "marketStartTime": {"from": "2014-03-13T00:00:00Z", "to": "2014-03-13T23:59:00.123Z"}}}""")
    tr = params.filter.market_start_time
    assert tr is not None and tr.from_ is not None and tr.to is not None
    assert tr.from_.to_datetime() == datetime(2014, 3, 13, tzinfo=UTC)
    assert tr.to.iso() == "2014-03-13T23:59:00.123Z"
    offset = decode_as(wire.TimeRange, b'{"from": "2014-03-13T01:00:00+01:00"}')
    assert offset.from_ == tr.from_
    with pytest.raises(ParamsError) as err:
        decode_as(wire.TimeRange, b'{"to": "13/03/2014"}')
    assert (err.value.kind, err.value.field) == ("type", "to")


def test_unknown_keys_and_empty_bodies() -> None:
    """Unknown keys are ignored (the docs' own requests may carry undocumented ones); no body at all is
    `{}`. listCurrentOrders' includeItemDescription is documented by 003 (L10158), not by the XML: kept."""
    params = wire.decode_params("listCurrentOrders",
                                b'{"includeItemDescription": true, "noSuchKey": 1, "recordCount": "10"}')
    assert params == betting.ListCurrentOrdersParams(record_count=10, include_item_description=True)
    empties: list[bytes | str | dict[str, Any] | None] = [b"", b"  ", None, "null", {}]
    for empty in empties:
        assert wire.decode_params("getAccountFunds", empty) == accounts.GetAccountFundsParams()


def test_params_errors_name_the_field_and_map_to_fault_codes() -> None:
    """parse -> -32700/DSC-0008, missing -> DSC-0018, type -> DSC-0009, including an enum value that matches
    nothing (001:L109-117), non-finite and out-of-range numbers."""
    base = '{"marketId":"1.1","instructions":[{"selectionId":%s,"side":%s,"orderType":"LIMIT","limitOrder":%s}]}'
    cases: list[tuple[str, str, str | None]] = [
        ('{"marketId": "1.1", "instructions": [', "parse", None),
        ('[{"marketId": "1.1"}]', "type", None),
        (base % ('"237486"', '"LAY"', "{}"), "missing", "instructions[0].limitOrder.price"),
        (base % ('"abc"', '"LAY"', '{"price": 2}'), "type", "instructions[0].selectionId"),
        (base % ("1", '"SIDEWAYS"', '{"price": 2}'), "type", "instructions[0].side"),
        (base % ("1", '"LAY"', '{"price": "NaN"}'), "type", "instructions[0].limitOrder.price"),
        (base % ("1", '"LAY"', '{"price": "Infinity"}'), "type", "instructions[0].limitOrder.price"),
        (base % ("1e30", '"LAY"', '{"price": 2}'), "type", "instructions[0].selectionId"),
    ]
    for raw, kind, field in cases:
        with pytest.raises(ParamsError) as err:
            wire.decode_params("placeOrders", raw)
        assert (err.value.kind, err.value.field) == (kind, field), raw
        if field:
            assert field in err.value.message
    with pytest.raises(ParamsError) as err:
        wire.decode_params("heartbeat", b'{"preferredTimeoutSeconds": 2147483648}')  # i32 overflow
    assert (err.value.kind, err.value.field) == ("type", "preferredTimeoutSeconds")
    assert [(k, *wire.PARAMS_FAULTS[k]) for k in ("parse", "missing", "type")] == [
        ("parse", -32700, "DSC-0008"), ("missing", -32602, "DSC-0018"), ("type", -32602, "DSC-0009")]
    assert (err.value.jsonrpc_code, err.value.fault_code) == (-32602, "DSC-0009")
    with pytest.raises(wire.UnknownOperationError):
        wire.decode_params("listMarketBooks", b"{}")


def test_wire_names_that_are_not_camel_case_of_the_attribute() -> None:
    """`async`, `from` (Python keywords) and the vendor operations' snake_case keys (AccountAPING.xml token)."""
    p = decode_as(betting.PlaceOrdersParams, b'{"marketId": "1.1", "instructions": [], "async": "true"}')
    assert p.async_ is True
    assert json.loads(encode(p)) == {"marketId": "1.1", "instructions": [], "async": True}
    t = decode_as(accounts.TokenParams, b'{"client_id": "c", "grant_type": "REFRESH_TOKEN", "client_secret": "s"}')
    assert (t.client_id, t.grant_type, t.client_secret) == ("c", "REFRESH_TOKEN", "s")
    tf = decode_as(accounts.TransferFundsParams, b'{"from": "UK", "to": "AUSTRALIAN", "amount": "1.5"}')
    assert (tf.from_, tf.to, tf.amount) == ("UK", "AUSTRALIAN", 1.5)


# --- (3) exact response encoding ---------------------------------------------------------------------


def test_place_execution_report_as_documented() -> None:
    """003:L10676-10705: the LIMIT LAY 2 @ 3 report, with dates to the millisecond."""
    report = betting.PlaceExecutionReport(
        market_id="1.109850906",
        status="SUCCESS",
        instruction_reports=[betting.PlaceInstructionReport(
            status="SUCCESS",
            instruction=betting.PlaceInstruction(
                selection_id=237486, handicap=0.0, side="LAY", order_type="LIMIT",
                limit_order=betting.LimitOrder(size=2.0, price=3.0, persistence_type="LAPSE")),
            bet_id="31242604945",
            placed_date=Instant.parse("2013-10-30T14:22:47Z"),
            average_price_matched=0.0,
            size_matched=0.0,
        )],
    )
    assert json.loads(encode(report)) == {
        "marketId": "1.109850906",
        "instructionReports": [{
            "instruction": {"selectionId": 237486, "handicap": 0,
                            "limitOrder": {"size": 2, "price": 3, "persistenceType": "LAPSE"},
                            "orderType": "LIMIT", "side": "LAY"},
            "betId": "31242604945", "placedDate": "2013-10-30T14:22:47.000Z",
            "averagePriceMatched": 0, "sizeMatched": 0, "status": "SUCCESS"}],
        "status": "SUCCESS",
    }
    assert b'"placedDate":"2013-10-30T14:22:47.000Z"' in encode(report)


def test_none_fields_are_omitted_and_required_lists_are_not() -> None:
    """A MOC report has no averagePriceMatched/sizeMatched (003:L10743-10755); `instructionReports` is a list
    even when empty (betting-api.md §1.7); a settled market's `ex` holds three empty lists (003:L3133-3137)."""
    moc = betting.PlaceInstructionReport(
        status="SUCCESS", bet_id="1", placed_date=Instant(0),
        instruction=betting.PlaceInstruction(selection_id=1, side="BACK", order_type="MARKET_ON_CLOSE",
                                             market_on_close_order=betting.MarketOnCloseOrder(liability=2.0)))
    assert json.loads(encode(moc)) == {
        "status": "SUCCESS", "betId": "1", "placedDate": "1970-01-01T00:00:00.000Z",
        "instruction": {"selectionId": 1, "side": "BACK", "orderType": "MARKET_ON_CLOSE",
                        "marketOnCloseOrder": {"liability": 2.0}}}
    cancel_all = betting.CancelExecutionReport(status="SUCCESS", instruction_reports=[])
    assert json.loads(encode(cancel_all)) == {"status": "SUCCESS", "instructionReports": []}
    runner = betting.Runner(selection_id=8611526, handicap=0.0, status="REMOVED", adjustment_factor=9.1,
                            removal_date=Instant.parse("2014-06-13T08:44:17.000Z"),
                            ex=betting.ExchangePrices(available_to_back=[], available_to_lay=[], traded_volume=[]))
    book = betting.MarketBook(market_id="1.114363660", is_market_data_delayed=False, status="CLOSED",
                              runners=[runner])
    assert json.loads(encode(book)) == {
        "marketId": "1.114363660", "isMarketDataDelayed": False, "status": "CLOSED",
        "runners": [{"selectionId": 8611526, "handicap": 0.0, "status": "REMOVED", "adjustmentFactor": 9.1,
                     "removalDate": "2014-06-13T08:44:17.000Z",
                     "ex": {"availableToBack": [], "availableToLay": [], "tradedVolume": []}}]}


def test_actual_sp_nan_and_infinities_are_strings() -> None:
    """actualSP is NaN for REMOVED runners and Infinity when no BSP can be calculated (003:L11731-11736),
    encoded as the quoted strings real responses carry (betting-api.md §1.4)."""
    sp = betting.StartingPrices(near_price=float("inf"), far_price=float("-inf"), back_stake_taken=[],
                                lay_liability_taken=[wire.PriceSize(price=1000.0, size=5.0)],
                                actual_sp=float("nan"))
    runner = betting.Runner(selection_id=1, handicap=0.0, status="REMOVED", sp=sp)
    raw = encode(runner)
    assert b'"actualSP":"NaN"' in raw and b"null" not in raw
    assert json.loads(raw)["sp"] == {"nearPrice": "Infinity", "farPrice": "-Infinity", "backStakeTaken": [],
                                     "layLiabilityTaken": [{"price": 1000.0, "size": 5.0}], "actualSP": "NaN"}
    finite = betting.StartingPrices(back_stake_taken=[], lay_liability_taken=[], actual_sp=3.45)
    assert json.loads(encode(finite)) == {"backStakeTaken": [], "layLiabilityTaken": [], "actualSP": 3.45}
    with pytest.raises(AttributeError):  # frozen: the conversion cannot be bypassed afterwards
        finite.actual_sp = float("nan")  # type: ignore[misc]
    # a lax client (betfair-parser decodes with strict=False) reads the strings back as floats
    assert msgspec.json.decode(b'"Infinity"', type=float, strict=False) == float("inf")


def test_dates_encode_with_milliseconds() -> None:
    """lastMatchTime has real milliseconds, "2016-10-28T12:25:30.235Z" (003:L2787); placedDate is to the
    second and still carries .000 (003:L10695)."""
    t = Instant.parse("2016-10-28T12:25:30.235Z")
    assert encode(t) == b'"2016-10-28T12:25:30.235Z"'
    assert encode(Instant.parse("2013-10-30T14:22:47Z")) == b'"2013-10-30T14:22:47.000Z"'
    assert Instant.from_datetime(datetime(2016, 10, 28, 13, 25, 30, 235999, tzinfo=timezone(timedelta(hours=1)))) == t
    assert Instant.from_datetime(datetime(2016, 10, 28, 12, 25, 30, 235000)) == t  # naive = UTC (001:L826)
    assert t.to_datetime() == datetime(2016, 10, 28, 12, 25, 30, 235000, tzinfo=UTC)
    assert Instant(t.ms - 1) < t and len({t, Instant(t.ms)}) == 1
    assert encode(Instant(-1)) == b'"1969-12-31T23:59:59.999Z"'


def test_current_order_summary_always_carries_regulator_code_and_sizes() -> None:
    """The real listCurrentOrders element (betting-api.md §2.6 [EXTERNAL]): all size fields present even at
    0.0, and regulatorCode, which betfairlightweight's CurrentOrder requires."""
    order = betting.CurrentOrderSummary(
        bet_id="71958694780", market_id="1.125875592", selection_id=6412775, handicap=0.0,
        price_size=wire.PriceSize(price=1.22, size=2.0), bsp_liability=0.0, side="LAY",
        status="EXECUTION_COMPLETE", persistence_type="LAPSE", order_type="LIMIT",
        placed_date=Instant.parse("2016-07-30T16:21:49.000Z"), matched_date=Instant.parse("2016-07-30T16:21:50.000Z"),
        average_price_matched=1.22, size_matched=2.0, size_remaining=0.0, size_lapsed=0.0, size_cancelled=0.0,
        size_voided=0.0, regulator_code="GIBRALTAR REGULATOR")
    assert json.loads(encode(order)) == {
        "betId": "71958694780", "marketId": "1.125875592", "selectionId": 6412775, "handicap": 0.0,
        "priceSize": {"price": 1.22, "size": 2.0}, "bspLiability": 0.0, "side": "LAY",
        "status": "EXECUTION_COMPLETE", "persistenceType": "LAPSE", "orderType": "LIMIT",
        "placedDate": "2016-07-30T16:21:49.000Z", "matchedDate": "2016-07-30T16:21:50.000Z",
        "averagePriceMatched": 1.22, "sizeMatched": 2.0, "sizeRemaining": 0.0, "sizeLapsed": 0.0,
        "sizeCancelled": 0.0, "sizeVoided": 0.0, "regulatorCode": "GIBRALTAR REGULATOR"}
    kwargs = msgspec.structs.asdict(order)
    del kwargs["regulator_code"]
    with pytest.raises(TypeError, match="regulator_code"):
        betting.CurrentOrderSummary(**kwargs)


def test_replace_report_nests_both_reports() -> None:
    """The real replaceOrders response (betting-api.md §2.11 [EXTERNAL]); both nested reports are required."""
    report = betting.ReplaceExecutionReport(status="SUCCESS", market_id="1.125897784", instruction_reports=[
        betting.ReplaceInstructionReport(
            status="SUCCESS",
            cancel_instruction_report=betting.CancelInstructionReport(
                status="SUCCESS", instruction=betting.CancelInstruction(bet_id="71968034904"), size_cancelled=2.0,
                cancelled_date=Instant.parse("2016-07-30T17:59:00Z")),
            place_instruction_report=betting.PlaceInstructionReport(
                status="SUCCESS", bet_id="71968276067", placed_date=Instant.parse("2016-07-30T17:59:00Z"),
                average_price_matched=0.0, size_matched=0.0,
                instruction=betting.PlaceInstruction(
                    selection_id=9486865, side="LAY", order_type="LIMIT",
                    limit_order=betting.LimitOrder(size=2.0, price=1.02, persistence_type="LAPSE"))))])
    assert json.loads(encode(report)) == {"status": "SUCCESS", "marketId": "1.125897784", "instructionReports": [{
        "status": "SUCCESS",
        "cancelInstructionReport": {"status": "SUCCESS", "instruction": {"betId": "71968034904"},
                                    "sizeCancelled": 2.0, "cancelledDate": "2016-07-30T17:59:00.000Z"},
        "placeInstructionReport": {"status": "SUCCESS",
                                   "instruction": {"selectionId": 9486865, "side": "LAY", "orderType": "LIMIT",
                                                   "limitOrder": {"size": 2.0, "price": 1.02,
                                                                  "persistenceType": "LAPSE"}},
                                   "betId": "71968276067", "placedDate": "2016-07-30T17:59:00.000Z",
                                   "averagePriceMatched": 0.0, "sizeMatched": 0.0}}]}
    with pytest.raises(TypeError, match="place_instruction_report"):
        betting.ReplaceInstructionReport(status="FAILURE",  # type: ignore[call-arg]
                                         cancel_instruction_report=report.instruction_reports[0]
                                         .cancel_instruction_report)


def test_statement_legacy_data_emits_required_keys_as_null() -> None:
    """betfairlightweight's LegacyData requires 15 keys; those that do not apply go out as null
    (stream-identity-accounts.md §11.6), while the optional ones are omitted."""
    legacy = accounts.StatementLegacyData(
        avg_price=None, bet_size=None, bet_type=None, bet_category_type=None, event_id=None, event_type_id=None,
        full_market_name=None, gross_bet_amount=None, market_type="NOT_APPLICABLE", placed_date=None,
        selection_id=None, start_date=None, transaction_type="Credit", transaction_id=None, win_lose=None)
    item = accounts.StatementItem(ref_id="1", item_date=Instant(0), amount=10.0, balance=10.0, item_class="UNKNOWN",
                                  item_class_data={}, legacy_data=legacy)
    out = json.loads(encode(accounts.AccountStatementReport(account_statement=[item], more_available=False)))
    (stmt,) = out["accountStatement"]
    assert set(stmt) == CLIENT_REQUIRED["StatementItem"]
    assert set(stmt["legacyData"]) == CLIENT_REQUIRED["StatementLegacyData"]
    assert stmt["legacyData"]["avgPrice"] is None and stmt["legacyData"]["marketType"] == "NOT_APPLICABLE"


def test_heartbeat_report_and_error_body() -> None:
    """The Heartbeat example response `{"actualTimeoutSeconds":10,"actionPerformed":"NONE"}`
    (stream-identity-accounts.md §12) and an APINGException body (003:L9968-10027)."""
    report = heartbeat.HeartbeatReport(action_performed="NONE", actual_timeout_seconds=10)
    assert json.loads(encode(report)) == {"actualTimeoutSeconds": 10, "actionPerformed": "NONE"}
    err = wire.APINGException(error_code="INVALID_INPUT_DATA", error_details="market id passed is invalid",
                              request_uuid="abc")
    assert json.loads(encode(err)) == {"errorCode": "INVALID_INPUT_DATA",
                                       "errorDetails": "market id passed is invalid", "requestUUID": "abc"}
    assert json.loads(encode(accounts.AccountAPINGException(error_code="NO_SESSION"))) == {"errorCode": "NO_SESSION"}


def test_responses_round_trip_through_the_decoder() -> None:
    """What the encoder writes, a typed decoder reads back unchanged (dates, special doubles, renames)."""
    book = betting.MarketBook(
        market_id="1.1", is_market_data_delayed=False, last_match_time=Instant.parse("2016-10-28T12:25:30.235Z"),
        runners=[betting.Runner(
            selection_id=1, handicap=0.0, status="ACTIVE",
            sp=betting.StartingPrices(back_stake_taken=[], lay_liability_taken=[], actual_sp=float("nan")),
            matches=[betting.Match(side="BACK", price=2.0, size=5.0)],
            matches_by_strategy={"s1": betting.Matches(matches=[betting.Match(side="LAY", price=3.0, size=1.0)])})])
    assert decode_as(betting.MarketBook, encode(book)) == book
    assert json.loads(encode(book))["runners"][0]["matches"] == [{"side": "BACK", "price": 2.0, "size": 5.0}]


def test_params_that_are_not_an_object_are_a_type_error() -> None:
    """A params value that is not a JSON object (found by the HTTP fuzz test: a REST body of `0`) is a
    DSC-0009 type error, not a crash (001:L109-117)."""
    from backlay.betfair.wire.betting import CancelOrdersParams
    from backlay.betfair.wire.common import ParamsError, decode_as

    for raw in (0, [1], "x"):
        with pytest.raises(ParamsError) as info:
            decode_as(CancelOrdersParams, raw)  # type: ignore[arg-type]
        assert info.value.kind in ("type", "parse")


@needs_spec
@pytest.mark.parametrize(("xml_file", "table"), [("SportsAPING.xml", "ANGX"), ("AccountAPING.xml", "AANGX")])
def test_error_message_numbers_are_the_xml_ids(xml_file: str, table: str) -> None:
    """JSON-RPC error.message ANGX-00NN (AANGX-00NN for the Accounts API): NN is the code's id in the
    exception's enum; Betfair's own answers confirm ANGX-0001..0009 (notes/betting-api.md 1.5)."""
    from backlay.betfair.http import errors

    root = ET.parse(SPEC_DIR / xml_file).getroot()
    ids = {v.get("name"): int(v.get("id", "0"))
           for v in root.findall("exceptionType/parameter[@name='errorCode']/validValues/value")}
    assert getattr(errors, table) == ids
    exception = "AccountAPINGException" if table == "AANGX" else "APINGException"
    assert errors.ApiError("SERVICE_BUSY", "", exception).message == f"{table}-{ids['SERVICE_BUSY']:04d}"
