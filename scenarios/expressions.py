"""Scenario text: `$(var)` substitution and the `=expression` language.

The expression language is parsed by a small tokenizer and recursive-descent parser and
evaluated over plain Python values; nothing is ever passed to eval. Grammar:

    expr    := term (("+" | "-") term)*
    term    := unary (("*" | "/") unary)*
    unary   := "-" unary | primary
    primary := NUMBER | STRING | "$(" NAME ")" | FUNC "(" [expr ("," expr)*] ")" | "(" expr ")"

Values are str, int or float. A variable whose text looks like a number is a number, so
`=$(count)+1` counts, and an unset variable next to a number is 0.
Mixing strings and numbers in + - * / is an error; tostring() converts.
Input length, nesting depth, number size and string size are bounded.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex

MAX_EXPRESSION_LENGTH = 1000
MAX_DEPTH = 30
MAX_STRING_LENGTH = 10_000
MAX_NUMBER = 10**15
REGEX_TIMEOUT_SECONDS = 0.1

VARIABLE_RE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.\-]*)\)")
_NUMBER_TEXT_RE = re.compile(r"-?\d+(\.\d+)?")


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated; the message says why."""


def substitute(text: str, variables: dict) -> str:
    """Replace each `$(name)` with the variable's text; unknown variables become empty."""
    return VARIABLE_RE.sub(lambda m: to_text(variables.get(m.group(1), "")), text)


def evaluate_value(text: str, variables: dict) -> str:
    """A Set Variable value: `=expression` is evaluated, anything else is substituted text."""
    if text.startswith("="):
        return to_text(evaluate(text[1:], variables))
    return substitute(text, variables)


def to_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < MAX_NUMBER else repr(value)
    return "" if value is None else str(value)


def as_number(text):
    """The number a variable's text stands for, or None when it is not a number."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return text
    if isinstance(text, str) and len(text) <= 40 and _NUMBER_TEXT_RE.fullmatch(text.strip()):
        value = float(text) if "." in text else int(text)
        return value if abs(value) <= MAX_NUMBER else None
    return None


def regex_search(pattern: str, subject: str, flags: str = "") -> bool:
    try:
        return _compile(pattern, flags).search(subject[:MAX_STRING_LENGTH], timeout=REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise ExpressionError("The regular expression took too long.") from None


def _compile(pattern: str, flags: str = ""):
    if len(pattern) > 500:
        raise ExpressionError("The regular expression is too long (500 characters at most).")
    bits = 0
    for flag in flags or "":
        if flag not in "ims":
            raise ExpressionError(f'Unknown regular expression flag "{flag}" (use i, m or s).')
        bits |= {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL}[flag]
    try:
        return regex.compile(pattern, bits)
    except regex.error as exc:
        raise ExpressionError(f"Invalid regular expression: {exc}") from None


# --- Tokenizer ------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>\$\([A-Za-z_][A-Za-z0-9_.\-]*\))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>[-+*/(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _tokenize(source: str) -> list[tuple[str, str]]:
    if "\n" in source or "\r" in source:
        raise ExpressionError("An expression must fit on one line.")
    tokens, pos = [], 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if not match:
            raise ExpressionError(f'Unexpected character "{source[pos]}" at position {pos + 1}.')
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group()))
        pos = match.end()
    return tokens


def _unescape(literal: str) -> str:
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            char = body[i + 1]
            if char not in _ESCAPES:
                raise ExpressionError(f'Unknown escape "\\{char}" in a string.')
            out.append(_ESCAPES[char])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


# --- Parser and evaluator -------------------------------------------------------------


def evaluate(source: str, variables: dict):
    """Evaluate an expression (without its leading `=`) to a str, int or float."""
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"The expression is too long ({MAX_EXPRESSION_LENGTH} characters at most).")
    parser = _Parser(_tokenize(source), variables)
    if not parser.tokens:
        raise ExpressionError("The expression is empty.")
    value = parser.expr(0)
    if parser.pos != len(parser.tokens):
        raise ExpressionError(f'Unexpected "{parser.tokens[parser.pos][1]}" after the expression.')
    return value


class _Parser:
    def __init__(self, tokens, variables):
        self.tokens, self.variables, self.pos = tokens, variables, 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else (None, None)

    def take(self, text=None):
        kind, value = self.peek()
        if kind is None:
            raise ExpressionError("The expression ends too early.")
        if text is not None and value != text:
            raise ExpressionError(f'Expected "{text}" but found "{value}".')
        self.pos += 1
        return kind, value

    def expr(self, depth):
        if depth > MAX_DEPTH:
            raise ExpressionError(f"The expression is nested too deeply ({MAX_DEPTH} levels at most).")
        value = self.term(depth)
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            value = _arith(op, value, self.term(depth))
        return value

    def term(self, depth):
        value = self.unary(depth)
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            value = _arith(op, value, self.unary(depth))
        return value

    def unary(self, depth):
        if self.peek()[1] == "-":
            self.take()
            if depth > MAX_DEPTH:
                raise ExpressionError(f"The expression is nested too deeply ({MAX_DEPTH} levels at most).")
            value = self.unary(depth + 1)
            if isinstance(value, str):
                raise ExpressionError("Unary minus needs a number, not a string.")
            return -value
        return self.primary(depth)

    def primary(self, depth):
        kind, text = self.take()
        if kind == "number":
            return _check_number(float(text) if "." in text else int(text))
        if kind == "string":
            return _check_string(_unescape(text))
        if kind == "var":
            raw = self.variables.get(text[2:-1], "")
            number = as_number(raw)
            return number if number is not None else _check_string(to_text(raw))
        if text == "(":
            value = self.expr(depth + 1)
            self.take(")")
            return value
        if kind == "name":
            if text.lower() not in FUNCTIONS:
                raise ExpressionError(f'Unknown function "{text}" (known: {", ".join(sorted(FUNCTIONS))}).')
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.expr(depth + 1))
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr(depth + 1))
            self.take(")")
            return FUNCTIONS[text.lower()](*_check_arity(text.lower(), args))
        raise ExpressionError(f'Unexpected "{text}".')


def _check_number(value):
    if isinstance(value, float) and value != value:  # NaN
        raise ExpressionError("The result is not a number.")
    if abs(value) > MAX_NUMBER:
        raise ExpressionError(f"Number out of range (at most {MAX_NUMBER} in size).")
    return value


def _check_string(value: str) -> str:
    if len(value) > MAX_STRING_LENGTH:
        raise ExpressionError(f"String too long ({MAX_STRING_LENGTH} characters at most).")
    return value


def _arith(op: str, left, right):
    if isinstance(left, str) and isinstance(right, str):
        if op != "+":
            raise ExpressionError(f'Strings can only be joined with "+", not "{op}".')
        return _check_string(left + right)
    # An unset (empty) variable counts as 0 next to a number, so =$(n)+1 starts a counter.
    left = 0 if left == "" and not isinstance(right, str) else left
    right = 0 if right == "" and not isinstance(left, str) else right
    if isinstance(left, str) or isinstance(right, str):
        raise ExpressionError("Cannot mix a string and a number; use tostring() to convert the number.")
    if op == "+":
        return _check_number(left + right)
    if op == "-":
        return _check_number(left - right)
    if op == "*":
        return _check_number(left * right)
    if right == 0:
        raise ExpressionError("Division by zero.")
    if isinstance(left, int) and isinstance(right, int) and left % right == 0:
        return left // right
    return _check_number(left / right)


# --- Functions ------------------------------------------------------------------------


def _length(value) -> int:
    return len(to_text(value))


def _now(tz: str = "UTC") -> str:
    try:
        zone = ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ExpressionError(f'Unknown time zone "{tz}".') from None
    return datetime.now(zone).strftime("%Y-%m-%d %H:%M:%S")


def _replace(subject, pattern, replacement, flags: str = "") -> str:
    compiled = _compile(to_text(pattern), to_text(flags))
    try:
        result = compiled.sub(
            to_text(replacement).replace("\\", "\\\\"), to_text(subject), timeout=REGEX_TIMEOUT_SECONDS
        )
    except TimeoutError:
        raise ExpressionError("The regular expression took too long.") from None
    return _check_string(result)


def _tostring(value) -> str:
    return to_text(value)


FUNCTIONS = {"length": _length, "now": _now, "replace": _replace, "tostring": _tostring}
_ARITY = {"length": (1, 1), "now": (0, 1), "replace": (3, 4), "tostring": (1, 1)}


def _check_arity(name: str, args: list) -> list:
    low, high = _ARITY[name]
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise ExpressionError(f"{name}() takes {wanted} argument(s), got {len(args)}.")
    return args
