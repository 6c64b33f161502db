"""The core's shape (issue 16, items 1 and 2), checked so that it stays so: stages of free functions
over one Ctx, no import cycle in core/, no core module reading another's private names, no function
over about 70 lines anywhere in src/, Exchange small; order and market status moved only by their
transition functions, which refuse a move outside their tables; account status an enum."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from backlay.core import codes
from backlay.core.commands import CreateAccount, SetAccountStatus
from backlay.core.exchange import ACCOUNT_HANDLERS, HANDLERS, MARKET_HANDLERS, Exchange
from backlay.core.market import MARKET_MOVES, Market, move_market
from backlay.core.orders import ORDER_MOVES, Order, move_order
from backlay.core.wallet import AccountStatus

SRC = Path(__file__).resolve().parents[2] / "src" / "backlay"
CORE = SRC / "core"
MAX_FUNCTION_LINES = 75  # "about 70"
MAX_EXCHANGE_LINES = 300


def _core_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in CORE.glob("*.py"):
        deps = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("backlay.core."):
                deps.add((node.module or "").split(".")[2])
    return graph


def test_no_import_cycle_in_the_core() -> None:
    graph = _core_imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for dep in sorted(graph.get(module, ())):
            assert dep not in path, f"import cycle: {' -> '.join([*path[path.index(dep):], dep])}"
            if dep not in done:
                visit(dep, [*path, dep])
        done.add(module)

    for module in sorted(graph):
        visit(module, [module])


def test_no_core_module_reads_another_s_private_names() -> None:
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not [a.name for a in node.names if a.name.startswith("_") and a.name != "__future__"], path
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                assert isinstance(owner, ast.Name) and owner.id in ("self", "cls", "Exchange"), \
                    f"{path.name}:{node.lineno} reads {ast.unparse(node)}"


def test_no_function_is_long() -> None:
    long = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_the_exchange_is_dispatch_and_state_only() -> None:
    assert len((CORE / "exchange.py").read_text().splitlines()) <= MAX_EXCHANGE_LINES
    # every command type has its handler
    from backlay.core import commands

    command_types = set(commands.Command.__args__)  # type: ignore[attr-defined]
    tables = (HANDLERS, MARKET_HANDLERS, ACCOUNT_HANDLERS)
    assert set().union(*tables) == command_types and sum(map(len, tables)) == len(command_types)


def test_status_is_written_only_by_the_transition_functions() -> None:
    for path in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == "status":
                        who = ast.unparse(target.value)
                        # runners' statuses (ACTIVE, REMOVED, results) and reports are not state machines;
                        # an account is ACTIVE or SUSPENDED, either way, by the operator's command
                        allowed = who in ("self", "runner", "reports[ri]", "placed") or \
                            (path.name in ("orders.py", "market.py") and who in ("order", "market")) or \
                            (path.name == "accounts.py" and who == "acct")
                        assert allowed, f"{path.name}:{node.lineno} sets {who}.status"


def _order(status: str) -> Order:
    order = Order(1, "a", "1.1", 1, 0, codes.BACK, codes.LIMIT, codes.LAPSE, 200, 1, 100, 0, 0)
    order.status = status
    return order


@pytest.mark.parametrize("start", sorted(ORDER_MOVES))
def test_order_moves_outside_the_table_are_refused(start: str) -> None:
    """003:L11860-11866: EXECUTION_COMPLETE and EXPIRED are final; PENDING only around a bet delay."""
    for target in ORDER_MOVES:
        order = _order(start)
        if target in ORDER_MOVES[start]:
            move_order(order, target)
            assert order.status == target
        else:
            with pytest.raises(AssertionError, match=f"{start} -> {target}"):
                move_order(order, target)
            assert order.status == start


def test_the_order_table() -> None:
    assert ORDER_MOVES[codes.EXECUTION_COMPLETE] == ORDER_MOVES[codes.EXPIRED] == frozenset()
    assert ORDER_MOVES[codes.PENDING] == {codes.EXECUTABLE, codes.EXECUTION_COMPLETE}


@pytest.mark.parametrize("start", sorted(MARKET_MOVES))
def test_market_moves_outside_the_table_are_refused(start: str) -> None:
    """003:L9614-9620: INACTIVE -> OPEN <-> SUSPENDED -> CLOSED, and CLOSED is final."""
    for target in MARKET_MOVES:
        market = Market("1.1", Exchange().catalogue.fill(_definition()), [])
        market.status = start
        if target in MARKET_MOVES[start]:
            move_market(market, target)
            assert market.status == target
        else:
            with pytest.raises(AssertionError, match=f"{start} -> {target}"):
                move_market(market, target)


def _definition():  # type: ignore[no-untyped-def]
    from backlay.core.commands import MarketDefinition

    return MarketDefinition(name="m")


def test_account_status_is_an_enum_and_the_operator_gets_a_clear_error() -> None:
    ex = Exchange()
    ex.apply(CreateAccount(account_id="a"), 1)
    assert ex.accounts["a"].status is AccountStatus.ACTIVE
    result, _ = ex.apply(SetAccountStatus(account_id="a", status="FROZEN"), 2)
    assert not result.ok and result.error == codes.AdminErr.INVALID_STATUS  # type: ignore[union-attr]
    result, _ = ex.apply(SetAccountStatus(account_id="a", status="SUSPENDED"), 3)
    assert result.ok and ex.accounts["a"].status is AccountStatus.SUSPENDED  # type: ignore[union-attr]
