"""A small, safe arithmetic language for combining named reward components (like a multi-grader formula):
numbers, component names, + - * /, unary minus, parentheses, min(...) and max(...). Parsed with `ast` and
checked against a whitelist once, at config load time, so a typo fails when the config is read, not in
the middle of a training step. Standard library only."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: a,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max}
MAX_FORMULA_CHARS = 2000


class FormulaError(ValueError):
    """The formula is not valid: bad syntax, a construct outside the whitelist, or an unknown name."""


class FormulaEvaluationError(ArithmeticError):
    """The formula is valid but these component values make it undefined (division by zero, inf)."""


Evaluator = Callable[[Mapping[str, float]], float]


def _compile(node: ast.AST, names: Collection[str]) -> Evaluator:
    """Turn a checked AST node into a closure; raises FormulaError on anything outside the whitelist."""
    if isinstance(node, ast.Expression):
        return _compile(node.body, names)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise FormulaError(f"only numbers are allowed as constants, got {node.value!r}")
        constant = float(node.value)
        return lambda values: constant
    if isinstance(node, ast.Name):
        if node.id in _FUNCTIONS:
            raise FormulaError(f"{node.id} is a function: call it, e.g. {node.id}(a, b)")
        if node.id not in names:
            raise FormulaError(f"unknown name {node.id!r}; the components are {sorted(names)}")
        name = node.id
        return lambda values: values[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        op, left, right = _BINARY[type(node.op)], _compile(node.left, names), _compile(node.right, names)
        return lambda values: op(left(values), right(values))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        unary, operand = _UNARY[type(node.op)], _compile(node.operand, names)
        return lambda values: unary(operand(values))
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise FormulaError(f"only {sorted(_FUNCTIONS)} may be called")
        if node.keywords or len(node.args) < 2:
            raise FormulaError(f"{node.func.id}() takes two or more positional arguments")
        function, args = _FUNCTIONS[node.func.id], [_compile(a, names) for a in node.args]
        return lambda values: function(*(a(values) for a in args))
    raise FormulaError(f"{type(node).__name__} is not allowed; use numbers, component names, + - * /, "
                       f"parentheses, min() and max()")


@dataclass(frozen=True)
class Formula:
    text: str
    names: frozenset[str]  # the component names it reads
    _evaluate: Evaluator

    def __call__(self, values: Mapping[str, float]) -> float:
        try:
            result = self._evaluate(values)
        except ZeroDivisionError:
            raise FormulaEvaluationError(f"formula {self.text!r} divides by zero") from None
        if not math.isfinite(result):
            raise FormulaEvaluationError(f"formula {self.text!r} gave {result}")
        return result


def compile_formula(text: str, names: Collection[str]) -> Formula:
    """Check `text` against the whitelist and the known component `names`; raises FormulaError."""
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("the formula must be a non-empty string")
    if len(text) > MAX_FORMULA_CHARS:
        raise FormulaError(f"the formula is longer than {MAX_FORMULA_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise FormulaError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    try:
        evaluate = _compile(tree, frozenset(names))
    except RecursionError:
        raise FormulaError("the formula is nested too deeply") from None
    used = frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in _FUNCTIONS)
    return Formula(text.strip(), used, evaluate)
