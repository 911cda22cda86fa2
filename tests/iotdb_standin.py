#!/usr/bin/python3
"""A stand-in for Apache IoTDB's REST service (tree model, REST API v2).

No real IoTDB server can run on this machine, so cutover's tests and demo talk
to this small server instead. It answers in the shapes recorded in the
project's research notes (/work/shared/research/iotdb.md, sections 1 and 2),
which were taken from IoTDB 1.3.x/2.x source; where IoTDB's docs disagree with
its source, the source wins. Python 3 standard library only.

Behaviours reproduced (see the notes for the sources):
- GET /ping needs no auth; everything else uses HTTP Basic exactly as
  IoTDB's AuthorizationFilter reads it: header name in any case, every
  "Basic " removed (so a bare base64 value works), the decoded text split on
  ':' with Java's String.split (trailing empty parts dropped) and required to
  give exactly 2 parts. 401 {800 INIT_AUTH_ERROR} without a header,
  401 {801 WRONG_LOGIN_PASSWORD}, 400 {303 "Illegal format of authorization
  header."}.
- Execution errors are HTTP 200 with {"code","message"}: 305 for a missing
  field ("sql should not be null", "timestamps should not be null", ...) or
  "row_limit should be positive", 700 for SQL this server cannot parse, 301
  EXECUTE_STATEMENT_ERROR for a statement sent to the wrong endpoint, 606 for
  an insertTablet value its type does not accept, 701 for a timestamp too
  large for the precision, 614 for a value that does not fit a series' type.
- Query results: {"expressions","column_names","data_types","timestamps",
  "values"} with values COLUMN-major; an empty raw result has "timestamps": []
  and "values": []; metadata queries (SHOW/COUNT) fill column_names, leave
  expressions and timestamps null, and give every column's type.
- The row-limit quirk: a result whose row count REACHES the limit
  (rows >= limit) is answered {708, "Dataset row size exceeded the given max
  row size (LIMIT)"}. The limit is min(request row_limit, --row-limit).
- Values: BOOLEAN true/false; INT32/INT64/TIMESTAMP exact JSON integers;
  FLOAT and DOUBLE as Java's Float/Double.toString prints them (shortest
  digits, "1.2345678E7", "1.0E-4"); NaN/Infinity/-Infinity as JSON strings
  (Jackson's default); TEXT/STRING strings; BLOB "0x" + lowercase hex;
  DATE "yyyy-mm-dd"; null for a missing point.
- insertTablet parses each value as StatementConstructionHandler does:
  INT32 and DATE only a JSON integer in int32 range (DATE as yyyyMMdd),
  INT64/TIMESTAMP only integers in int64 range, FLOAT/DOUBLE any value whose
  text Java parses as a number ("NaN" too), BOOLEAN true/false or 1/0,
  TEXT/STRING/BLOB the value's Java toString() as UTF-8 (a BLOB is NOT
  hex-decoded). Unsorted timestamps are sorted. A point overwrites the point
  of the same series and time. Missing series are created.
- SQL inserts auto-create series with IoTDB's default inferred types
  (integer and decimal -> DOUBLE, true/false -> BOOLEAN, 'text' -> TEXT,
  X'..' -> BLOB, NaN -> DOUBLE; --integer-infer-type changes the integer one).

SQL subset (keywords in any case; paths may use `backquoted` nodes, '*' for
one node and '**' for one or more):
  query:    SHOW TIMESERIES [p] [LIMIT n] [OFFSET m]
            SHOW DEVICES [p] [WITH DATABASE] [LIMIT n] [OFFSET m]
            SHOW DATABASES [p]
            COUNT TIMESERIES [p] [GROUP BY LEVEL=k] | COUNT DEVICES [p]
            SELECT [LAST] m1, m2 | * FROM prefix[, prefix] [WHERE <time cond>]
              [ORDER BY TIME|DEVICE [ASC|DESC]] [LIMIT n] [OFFSET m]
              [SLIMIT n] [SOFFSET m] [ALIGN BY DEVICE]
            where <time cond> is comparisons of time with >, >=, <, <=, =
            joined by AND, or time BETWEEN a AND b.
  nonQuery: INSERT INTO device(time, m1, ...) [ALIGNED] VALUES (...)[, (...)]
            DELETE FROM path[, path] [WHERE <time cond>]
            DELETE TIMESERIES path[, path]
            CREATE [ALIGNED] TIMESERIES ... | CREATE DATABASE p | DROP DATABASE p
            FLUSH
Anything else is answered 700, as a parse error would be.

Test-only endpoints (no auth):
  POST /standin/points  {"series":[...],"points":[...]} (data-file form)
                        adds or overwrites points, as if written to IoTDB.
  GET  /standin/dump    every series and point in data-file form, sorted by
                        path then time (plus "precision").
  POST /standin/fail    {"next":N,"http":500} fails the next N /rest/v2
                        requests with that HTTP status ({"code":500,
                        "message":"injected"}); {"next":N,"code":301} answers
                        HTTP 200 with that code; {"next":N,"drop":true} closes
                        the connection unanswered; "delay_ms" delays;
                        "path" narrows it (default "/rest/v2/"; "/ping" too);
                        {"clear":true} removes every rule.
  GET  /standin/log     the requests received: path, sql/row_limit or
                        device/measurements/rows, http, code, injected.
  POST /standin/log/clear (or DELETE /standin/log) empties the log.

Data file (--data; absent or empty means an empty store):
  {"series": [{"path": "root.db.d1.s1", "type": "DOUBLE"}, ...],
   "points": [{"path": "root.db.d1.s1", "time": 1704067200000,
               "value": 21.5}, ...]}
  Values in REST JSON form: exact integers, "NaN"/"Infinity" strings, BLOB
  "0x..", DATE "yyyy-mm-dd". Undeclared series get a type from the value.

Usage:
  iotdb_standin.py --port PORT --data DATA.json [--user root --password root]
      [--row-limit 10000] [--precision ms|us|ns] [--port-file FILE]
      [--integer-infer-type DOUBLE] [--verbose]
--port 0 picks a free port; --port-file receives it (written atomically).
--precision only drives IoTDB's "timestamp unexpectedly large" check on
writes (ms: > 1e13, us: > 1e16) and now().
"""

import argparse
import base64
import binascii
import bisect
import datetime
import decimal
import json
import math
import os
import re
import signal
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# --------------------------------------------------------------------------
# Types
# --------------------------------------------------------------------------

TYPES = ("BOOLEAN", "INT32", "INT64", "FLOAT", "DOUBLE", "TEXT", "STRING",
         "BLOB", "TIMESTAMP", "DATE")

DEFAULT_ENCODING = {
    "BOOLEAN": "RLE", "INT32": "TS_2DIFF", "INT64": "TS_2DIFF",
    "FLOAT": "GORILLA", "DOUBLE": "GORILLA", "TEXT": "PLAIN",
    "STRING": "PLAIN", "BLOB": "PLAIN", "TIMESTAMP": "TS_2DIFF",
    "DATE": "TS_2DIFF",
}
DEFAULT_COMPRESSION = "LZ4"

# Which written types each series type accepts (IoTDB's Data-Type doc).
ACCEPTS = {
    "BOOLEAN": {"BOOLEAN"},
    "INT32": {"INT32"},
    "INT64": {"INT32", "INT64", "TIMESTAMP"},
    "FLOAT": {"INT32", "FLOAT"},
    "DOUBLE": {"INT32", "INT64", "FLOAT", "DOUBLE", "TIMESTAMP"},
    "TEXT": {"TEXT", "STRING"},
    "STRING": {"TEXT", "STRING"},
    "BLOB": {"TEXT", "STRING", "BLOB"},
    "TIMESTAMP": {"INT32", "INT64", "TIMESTAMP"},
    "DATE": {"DATE"},
}

INT32_MIN, INT32_MAX = -2 ** 31, 2 ** 31 - 1
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1

# TimestampPrecisionUtils.checkTimestampPrecision: the largest time accepted.
PRECISION_CHECK = {"ms": 10_000_000_000_000, "us": 10_000_000_000_000_000,
                   "ns": None}


class IotdbError(Exception):
    """An execution failure, answered as HTTP 200 {"code","message"}."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def parse_type(name):
    """The TSDataType called `name` (any case), or None."""
    if not isinstance(name, str):
        return None
    upper = name.upper()
    return upper if upper in TYPES else None


# --------------------------------------------------------------------------
# Java number text (Jackson prints a Float/Double with Float/Double.toString)
# --------------------------------------------------------------------------

class JsonRaw(str):
    """Text written into the JSON output as it is (a number)."""


def to_float32(value):
    """`value` rounded to the nearest IEEE single, as a Python float."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _java_layout(negative, digits, exponent):
    """Java's Double.toString layout of 0.d1d2.. x 10^(exponent+1)."""
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[:exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1:] or "0"
        else:
            whole = "0"
            fraction = "0" * (-exponent - 1) + digits
        text = whole + "." + fraction
    else:
        text = digits[0] + "." + (digits[1:] or "0") + "E" + str(exponent)
    return ("-" if negative else "") + text


def _digits_of(decimal_text):
    """(digits, scientific exponent) of a positive decimal text."""
    sign, digits, exponent = decimal.Decimal(decimal_text).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    return "".join(map(str, digits)), len(digits) - 1 + exponent


def _special_text(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    return None


def java_double_text(value):
    """Double.toString(value): shortest digits, Java's layout."""
    special = _special_text(value)
    if special is not None:
        return special
    digits, exponent = _digits_of(repr(abs(value)))
    return _java_layout(value < 0, digits, exponent)


def java_float_text(value):
    """Float.toString((float) value): shortest digits for a single."""
    special = _special_text(value)
    if special is not None:
        return special
    magnitude = abs(value)
    for precision in range(1, 10):
        text = "%.*e" % (precision - 1, magnitude)
        if to_float32(float(text)) == magnitude:
            break
    digits, exponent = _digits_of(text)
    return _java_layout(value < 0, digits, exponent)


_JAVA_NUMBER = re.compile(
    r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)")


def java_parse_double(text):
    """Double.parseDouble(text); a ValueError as Java's message."""
    stripped = text.strip("".join(map(chr, range(33))))  # String.trim()
    if not _JAVA_NUMBER.fullmatch(stripped):
        raise ValueError("empty String" if not stripped
                         else 'For input string: "%s"' % text)
    if stripped[-1] in "fFdD":  # Java's optional type suffix
        stripped = stripped[:-1]
    return float(stripped)  # also reads NaN, Infinity, -Infinity


def java_class(value):
    """The Java class Jackson makes of a JSON value."""
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        if INT32_MIN <= value <= INT32_MAX:
            return "java.lang.Integer"
        if INT64_MIN <= value <= INT64_MAX:
            return "java.lang.Long"
        return "java.math.BigInteger"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


def java_to_string(value):
    """value.toString() of the Java object Jackson makes of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(java_to_string(v) for v in value) + "]"
    return "{" + ", ".join("%s=%s" % (k, java_to_string(v))
                           for k, v in value.items()) + "}"


# --------------------------------------------------------------------------
# JSON output
# --------------------------------------------------------------------------

def to_json(obj):
    """JSON text of `obj`; JsonRaw is written as is, ints exactly."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, JsonRaw):
        return str(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return json.dumps(java_double_text(obj))
        return java_double_text(obj)
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" +
                              to_json(v) for k, v in obj.items()) + "}"
    raise TypeError("cannot write %r as JSON" % (obj,))


def status(code, message):
    return {"code": code, "message": message}


SUCCESS = status(200, "SUCCESS_STATUS")


# --------------------------------------------------------------------------
# Values: stored typed; rendered as IoTDB's REST JSON
# --------------------------------------------------------------------------
# Stored forms: BOOLEAN bool; INT32/INT64/TIMESTAMP int; FLOAT a float
# already rounded to a single; DOUBLE float; TEXT/STRING str; BLOB bytes;
# DATE "yyyy-mm-dd".

def render_value(type_name, value):
    """The REST JSON form of a stored value (QueryDataSetHandler)."""
    if value is None:
        return None
    if type_name in ("FLOAT", "DOUBLE"):
        text = (java_float_text if type_name == "FLOAT"
                else java_double_text)(value)
        if math.isnan(value) or math.isinf(value):
            return text
        return JsonRaw(text)
    if type_name == "BLOB":
        return "0x" + value.hex()
    return value


def value_string(type_name, value):
    """The Java getStringValue text of a value (SELECT LAST's Value)."""
    if type_name == "BOOLEAN":
        return "true" if value else "false"
    if type_name == "FLOAT":
        return java_float_text(value)
    if type_name == "DOUBLE":
        return java_double_text(value)
    if type_name == "BLOB":
        return "0x" + value.hex()
    return str(value)


_DATE_TEXT = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def date_from_text(text):
    """"yyyy-mm-dd" if `text` is a real date in that form, else None."""
    match = _DATE_TEXT.fullmatch(text)
    if not match:
        return None
    try:
        datetime.date(*map(int, match.groups()))
    except ValueError:
        return None
    return text


def date_from_int(number):
    """The DATE of an int yyyyMMdd, or None."""
    if not 10000101 <= number <= 99991231:
        return None
    return date_from_text("%04d-%02d-%02d" % (number // 10000,
                                              number // 100 % 100,
                                              number % 100))


def _float_from_file(value, type_name):
    if isinstance(value, str):
        number = java_parse_double(value)
    else:
        number = float(value)
    return to_float32(number) if type_name == "FLOAT" else number


def value_from_file(type_name, value):
    """A value of the data file (REST JSON form) as stored; ValueError."""
    if value is None:
        return None
    if type_name == "BOOLEAN":
        if not isinstance(value, bool):
            raise ValueError("not a boolean: %r" % (value,))
        return value
    if type_name in ("INT32", "INT64", "TIMESTAMP"):
        number = int(value) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValueError("not an integer: %r" % (value,))
        low, high = ((INT32_MIN, INT32_MAX) if type_name == "INT32"
                     else (INT64_MIN, INT64_MAX))
        if not low <= number <= high:
            raise ValueError("out of range for %s: %r" % (type_name, value))
        return number
    if type_name in ("FLOAT", "DOUBLE"):
        if isinstance(value, bool):
            raise ValueError("not a number: %r" % (value,))
        return _float_from_file(value, type_name)
    if type_name in ("TEXT", "STRING"):
        if not isinstance(value, str):
            raise ValueError("not a string: %r" % (value,))
        return value
    if type_name == "BLOB":
        if not isinstance(value, str) or not value.lower().startswith("0x"):
            raise ValueError("BLOB must be a \"0x...\" string: %r" % (value,))
        return bytes.fromhex(value[2:])
    if type_name == "DATE":
        date = (date_from_int(value) if isinstance(value, int)
                else date_from_text(value) if isinstance(value, str) else None)
        if date is None:
            raise ValueError("not a DATE: %r" % (value,))
        return date
    raise ValueError("unknown type %s" % type_name)


def infer_file_type(value):
    """A type for a data-file point whose series is not declared."""
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "DOUBLE"
    return "TEXT"


def convert_type(value, from_type, to_type):
    """A stored value of `from_type` as `to_type` (ACCEPTS allows it)."""
    if from_type == to_type or value is None:
        return value
    if to_type in ("DOUBLE",):
        return float(value)
    if to_type == "FLOAT":
        return to_float32(float(value))
    if to_type == "BLOB":
        return value.encode("utf-8")
    return value


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------

class Wildcard(str):
    """'*' (one node) or '**' (one or more nodes) in a path pattern."""


STAR = Wildcard("*")
DOUBLE_STAR = Wildcard("**")

_PLAIN_NODE = re.compile(r"[A-Za-z0-9_\u2E80-\u9FFF]+")


def node_text(node):
    """A node as IoTDB prints it: backquoted when it needs to be."""
    if isinstance(node, Wildcard):
        return str(node)
    if _PLAIN_NODE.fullmatch(node) and not node.isdigit():
        return node
    return "`" + node.replace("`", "``") + "`"


def path_text(nodes):
    return ".".join(node_text(n) for n in nodes)


def match_pattern(pattern, nodes):
    """Whether the path `nodes` matches `pattern`."""
    if not pattern:
        return not nodes
    head = pattern[0]
    if head is DOUBLE_STAR or (isinstance(head, Wildcard) and head == "**"):
        return any(match_pattern(pattern[1:], nodes[k:])
                   for k in range(1, len(nodes) + 1))
    if not nodes:
        return False
    if isinstance(head, Wildcard) or head == nodes[0]:
        return match_pattern(pattern[1:], nodes[1:])
    return False


def parse_path_text(text, wildcards=False):
    """The nodes of a path written as text; IotdbError 509 if illegal."""
    try:
        parser = Parser(text)
        nodes = parser.path(wildcards=wildcards)
        parser.end()
    except IotdbError:
        raise IotdbError(509, "%s is not a legal path" % text)
    return nodes


def check_full_path(nodes, text=None):
    if not nodes or nodes[0].lower() != "root" or isinstance(nodes[0],
                                                              Wildcard):
        raise IotdbError(509, "%s is not a legal path" %
                         (text or path_text(nodes)))
    for node in nodes[1:]:
        if not isinstance(node, Wildcard) and \
                node.lower() in ("root", "time", "timestamp") and \
                _PLAIN_NODE.fullmatch(node):
            raise IotdbError(509, "%s is not a legal path" %
                             (text or path_text(nodes)))
    return tuple(nodes)


def parse_measurement(text):
    """One measurement name of insertTablet (may be backquoted); 509."""
    if not isinstance(text, str):
        raise IotdbError(305, "measurements should be strings")
    if text.startswith("`") and text.endswith("`") and len(text) >= 2:
        inner = text[1:-1]
        if "`" in inner.replace("``", ""):
            raise IotdbError(509, "%s is not a legal path" % text)
        return inner.replace("``", "`")
    if not _PLAIN_NODE.fullmatch(text) or text.isdigit() or \
            text.lower() in ("root", "time", "timestamp"):
        raise IotdbError(509, "%s is not a legal path" % text)
    return text


# --------------------------------------------------------------------------
# SQL tokenizer and parser
# --------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<bq>`(?:[^`]|``)*`)
  | (?P<blob>[xX]'[^']*')
  | (?P<str1>'(?:[^']|'')*')
  | (?P<str2>"(?:[^"]|"")*")
  | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?(?![A-Za-z_\u2E80-\u9FFF]))
  | (?P<ident>[A-Za-z0-9_\u2E80-\u9FFF]+)
  | (?P<op>\*\*|<=|>=|!=|<>|==|[=<>().,;*+\-/%])
""", re.VERBOSE)


class Token:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind, text, value, pos):
        self.kind, self.text, self.value, self.pos = kind, text, value, pos

    def upper(self):
        return self.text.upper() if self.kind == "ident" else None


def tokenize(sql):
    tokens = []
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if not match:
            raise parse_error(sql, pos)
        kind = match.lastgroup
        text = match.group()
        if kind != "ws":
            tokens.append(Token(kind, text, _token_value(kind, text), pos))
        pos = match.end()
    return tokens


def _token_value(kind, text):
    if kind == "bq":
        return text[1:-1].replace("``", "`")
    if kind == "str1":
        return text[1:-1].replace("''", "'")
    if kind == "str2":
        return text[1:-1].replace('""', '"')
    if kind == "blob":
        return text[2:-1]
    return text


def parse_error(sql, pos):
    near = sql[pos:pos + 20] if pos < len(sql) else "<EOF>"
    return IotdbError(700, "line 1:%d no viable alternative at input '%s'"
                      % (pos, near))


def unsupported(sql, what):
    return IotdbError(700, "%s is not supported by the IoTDB stand-in: %s"
                      % (what, sql))


class Parser:
    """A cursor over the tokens of one statement."""

    def __init__(self, sql):
        self.sql = sql
        self.tokens = tokenize(sql)
        self.pos = 0

    # -- cursor
    def peek(self, ahead=0):
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self):
        token = self.peek()
        if token is None:
            raise parse_error(self.sql, len(self.sql))
        self.pos += 1
        return token

    def fail(self):
        token = self.peek()
        return parse_error(self.sql, token.pos if token else len(self.sql))

    def at_kw(self, *words):
        token = self.peek()
        return token is not None and token.upper() in words

    def accept_kw(self, *words):
        if self.at_kw(*words):
            return self.next().upper()
        return None

    def expect_kw(self, *words):
        word = self.accept_kw(*words)
        if word is None:
            raise self.fail()
        return word

    def at_op(self, *ops):
        token = self.peek()
        return token is not None and token.kind == "op" and token.text in ops

    def accept_op(self, *ops):
        if self.at_op(*ops):
            return self.next().text
        return None

    def expect_op(self, *ops):
        op = self.accept_op(*ops)
        if op is None:
            raise self.fail()
        return op

    def end(self):
        while self.accept_op(";"):
            pass
        if self.peek() is not None:
            raise self.fail()

    def at_end(self):
        return self.peek() is None or self.at_op(";")

    # -- pieces
    def node(self, wildcards=True):
        token = self.next()
        if token.kind == "ident":
            return token.text
        if token.kind == "bq":
            return token.value
        if token.kind == "op" and token.text in ("*", "**") and wildcards:
            return STAR if token.text == "*" else DOUBLE_STAR
        self.pos -= 1
        raise self.fail()

    def path(self, wildcards=True):
        nodes = [self.node(wildcards)]
        while self.accept_op("."):
            nodes.append(self.node(wildcards))
        return tuple(nodes)

    def full_path(self, wildcards=True):
        start = self.peek()
        nodes = self.path(wildcards)
        if nodes[0].lower() != "root" or isinstance(nodes[0], Wildcard):
            raise parse_error(self.sql, start.pos)
        return nodes

    def integer(self):
        negative = False
        if self.accept_op("-"):
            negative = True
        elif self.accept_op("+"):
            pass
        token = self.next()
        if token.kind != "num" or not token.text.isdigit():
            self.pos -= 1
            raise self.fail()
        number = int(token.text)
        return -number if negative else number

    def literal(self):
        """An SQL value: (kind, value, text)."""
        sign = self.accept_op("-", "+")
        token = self.next()
        if token.kind == "num":
            text = (sign if sign == "-" else "") + token.text
            if token.text.isdigit():
                return ("int", int(text), text)
            return ("dec", text, text)
        if sign:
            self.pos -= 1
            raise self.fail()
        if token.kind in ("str1", "str2"):
            return ("str", token.value, token.value)
        if token.kind == "blob":
            try:
                return ("blob", bytes.fromhex(token.value), token.text)
            except ValueError:
                raise parse_error(self.sql, token.pos)
        word = token.upper()
        if word in ("TRUE", "FALSE"):
            return ("bool", word == "TRUE", word.lower())
        if word == "NULL":
            return ("null", None, "null")
        if token.text == "NaN":
            return ("nan", math.nan, "NaN")
        if word == "NOW" and self.accept_op("("):
            self.expect_op(")")
            return ("now", None, "now()")
        self.pos -= 1
        raise self.fail()

    def time_range(self):
        """A WHERE clause on time: (low, high), both inclusive."""
        low, high = INT64_MIN, INT64_MAX
        while True:
            low, high = self._time_condition(low, high)
            if not self.accept_kw("AND"):
                return low, high

    def _time_condition(self, low, high):
        if self._at_time():
            self.next()
            if self.accept_kw("BETWEEN"):
                first = self.integer()
                self.expect_kw("AND")
                second = self.integer()
                return max(low, first), min(high, second)
            op = self._comparison()
            value = self.integer()
        else:
            value = self.integer()
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}[
                self._comparison()]
            if not self._at_time():
                raise unsupported(self.sql, "A WHERE clause not on time")
            self.next()
        if op == ">":
            return max(low, value + 1), high
        if op == ">=":
            return max(low, value), high
        if op == "<":
            return low, min(high, value - 1)
        if op == "<=":
            return low, min(high, value)
        return max(low, value), min(high, value)

    def _at_time(self):
        return self.at_kw("TIME", "TIMESTAMP")

    def _comparison(self):
        op = self.accept_op(">", ">=", "<", "<=", "=", "==")
        if op is None:
            raise unsupported(self.sql, "A WHERE clause not on time")
        return "=" if op == "==" else op


QUERY_WORDS = {"SELECT", "SHOW", "COUNT", "LIST", "EXPLAIN"}
NON_QUERY_WORDS = {"INSERT", "DELETE", "CREATE", "DROP", "FLUSH", "SET",
                   "UNSET", "ALTER", "GRANT", "REVOKE", "LOAD", "CLEAR",
                   "START", "STOP", "KILL", "USE"}


def statement_kind(sql):
    """"query" or "nonquery" by the first word; 700 for anything else."""
    tokens = tokenize(sql)
    if not tokens:
        raise parse_error(sql, 0)
    word = tokens[0].upper()
    if word in QUERY_WORDS:
        return "query"
    if word in NON_QUERY_WORDS:
        return "nonquery"
    raise parse_error(sql, tokens[0].pos)


# --------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------

class Series:
    """One timeseries: its schema and its points (time -> stored value)."""

    def __init__(self, path, type_name, encoding=None, compression=None,
                 aligned=False, alias=None, tags=None, attributes=None):
        self.path = path
        self.type = type_name
        self.encoding = encoding or DEFAULT_ENCODING[type_name]
        self.compression = compression or DEFAULT_COMPRESSION
        self.aligned = aligned
        self.alias = alias
        self.tags = tags
        self.attributes = attributes
        self.points = {}
        self._times = None

    def put(self, when, value):
        if when not in self.points and self._times is not None:
            # Kept sorted as points come (mostly in time order), so a
            # read after each write does not sort the series again.
            if not self._times or when > self._times[-1]:
                self._times.append(when)
            else:
                bisect.insort(self._times, when)
        self.points[when] = value

    def times(self):
        if self._times is None:
            self._times = sorted(self.points)
        return self._times

    def times_in(self, low, high):
        times = self.times()
        return times[bisect.bisect_left(times, low):
                     bisect.bisect_right(times, high)]

    def delete(self, low, high):
        for when in self.times_in(low, high):
            del self.points[when]
        self._times = None


class Store:
    """All series and databases. Callers hold `lock`."""

    def __init__(self):
        self.lock = threading.RLock()
        self.series = {}
        self.databases = set()

    # -- schema
    def database_of(self, path):
        """The database holding `path` (a series or a device)."""
        for length in range(len(path), 1, -1):
            if path[:length] in self.databases:
                return path[:length]
        return path[:2]

    def create(self, path, type_name, **schema):
        series = Series(path, type_name, **schema)
        self.series[path] = series
        return series

    def get_or_create(self, path, type_name, aligned=False):
        series = self.series.get(path)
        if series is None:
            series = self.create(path, type_name, aligned=aligned)
        return series

    def match(self, pattern):
        """The series matching `pattern`, sorted by path."""
        if not any(isinstance(n, Wildcard) for n in pattern):
            series = self.series.get(tuple(pattern))
            return [series] if series else []
        return [self.series[p] for p in sorted(self.series)
                if match_pattern(pattern, p)]

    def devices(self):
        """{device path: aligned} of every device with a series."""
        devices = {}
        for path, series in self.series.items():
            devices[path[:-1]] = devices.get(path[:-1], False) or \
                series.aligned
        return devices

    def all_databases(self):
        found = set(self.databases)
        for path in self.series:
            found.add(self.database_of(path))
        return found

    # -- data file form
    def load(self, data):
        for entry in data.get("series") or []:
            self.add_series_entry(entry)
        return self.add_points(data.get("points") or [])

    def add_series_entry(self, entry):
        path = check_full_path(parse_path_text(entry["path"]), entry["path"])
        type_name = parse_type(entry.get("type"))
        if type_name is None:
            raise ValueError("unknown type %r for %s" % (entry.get("type"),
                                                          entry["path"]))
        existing = self.series.get(path)
        if existing is not None and existing.type == type_name:
            return existing
        if existing is not None:
            raise ValueError("%s already exists as %s" % (entry["path"],
                                                           existing.type))
        return self.create(path, type_name,
                           encoding=entry.get("encoding"),
                           compression=entry.get("compression"),
                           aligned=bool(entry.get("aligned", False)),
                           alias=entry.get("alias"),
                           tags=entry.get("tags"),
                           attributes=entry.get("attributes"))

    def add_points(self, points):
        staged, paths = [], {}
        for point in points:
            text = point["path"]
            path = paths.get(text)
            if path is None:
                path = paths[text] = check_full_path(parse_path_text(text),
                                                     text)
            when = point["time"]
            if isinstance(when, bool) or not isinstance(when, int):
                raise ValueError("time must be an integer: %r" % (point,))
            series = self.series.get(path)
            type_name = series.type if series else \
                infer_file_type(point.get("value"))
            staged.append((path, type_name, when,
                           value_from_file(type_name, point.get("value"))))
        for path, type_name, when, value in staged:
            series = self.get_or_create(path, type_name)
            if value is None:
                series.points.pop(when, None)
                series._times = None
            else:
                series.put(when, value)
        return len(staged)

    def dump(self):
        series_list, points = [], []
        for path in sorted(self.series):
            series = self.series[path]
            entry = {"path": path_text(path), "type": series.type}
            if series.aligned:
                entry["aligned"] = True
            series_list.append(entry)
            for when in series.times():
                points.append({"path": path_text(path), "time": when,
                               "value": render_value(series.type,
                                                     series.points[when])})
        return {"series": series_list, "points": points}


# --------------------------------------------------------------------------
# Query results
# --------------------------------------------------------------------------

def row_limit_error(limit):
    return IotdbError(708, "Dataset row size exceeded the given max row "
                      "size (%d)" % limit)


def check_row_limit(rows, limit):
    """The quirk: reaching the limit already fails."""
    if limit > 0 and rows >= limit:
        raise row_limit_error(limit)


def metadata_result(column_names, data_types, rows, limit):
    """A SHOW/COUNT answer: column_names set, values column-major."""
    check_row_limit(len(rows), limit)
    values = [list(col) for col in zip(*rows)] if rows else []
    return {"expressions": None, "column_names": column_names,
            "data_types": data_types, "timestamps": None, "values": values}


def page(rows, limit, offset):
    rows = rows[offset:] if offset else rows
    return rows[:limit] if limit is not None else rows


# --------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------

class Engine:
    """Runs the SQL subset and the insert endpoints against a Store."""

    def __init__(self, store, precision="ms", integer_infer_type="DOUBLE"):
        self.store = store
        self.precision = precision
        self.integer_infer_type = integer_infer_type

    # ---------------------------------------------------------- queries
    def query(self, sql, limit):
        parser = Parser(sql)
        word = parser.peek().upper()
        if word == "SHOW":
            return self._show(parser, limit)
        if word == "COUNT":
            return self._count(parser, limit)
        if word == "SELECT":
            return self._select(parser, limit)
        raise unsupported(sql, "This statement")

    def _limit_offset(self, parser):
        limit = offset = None
        while True:
            if parser.accept_kw("LIMIT"):
                limit = parser.integer()
                if limit <= 0:
                    raise IotdbError(701, "LIMIT <N>: N should be greater "
                                     "than 0.")
            elif parser.accept_kw("OFFSET"):
                offset = parser.integer()
                if offset < 0:
                    raise IotdbError(701, "OFFSET <OFFSETValue>: "
                                     "OFFSETValue should >= 0.")
            else:
                return limit, offset

    def _pattern(self, parser):
        if parser.at_end() or parser.at_kw("LIMIT", "OFFSET", "WITH",
                                           "GROUP", "WHERE"):
            return ("root", DOUBLE_STAR)
        return parser.full_path()

    def _show(self, parser, limit):
        parser.expect_kw("SHOW")
        what = parser.expect_kw("TIMESERIES", "DEVICES", "DATABASES",
                                "STORAGE", "VERSION", "CHILD", "ALL", "TTL",
                                "LATEST", "FUNCTIONS", "CLUSTER")
        if what == "TIMESERIES":
            return self._show_timeseries(parser, limit)
        if what == "DEVICES":
            return self._show_devices(parser, limit)
        if what == "DATABASES":
            return self._show_databases(parser, limit)
        raise unsupported(parser.sql, "SHOW " + what)

    def _show_timeseries(self, parser, limit):
        pattern = self._pattern(parser)
        if parser.at_kw("WHERE"):
            raise unsupported(parser.sql, "SHOW TIMESERIES ... WHERE")
        row_count, offset = self._limit_offset(parser)
        parser.end()
        rows = []
        for series in page(self.store.match(pattern), row_count, offset):
            rows.append([
                path_text(series.path), series.alias,
                path_text(self.store.database_of(series.path)), series.type,
                series.encoding, series.compression,
                json.dumps(series.tags) if series.tags else None,
                json.dumps(series.attributes) if series.attributes else None,
                None, None, "BASE"])
        names = ["Timeseries", "Alias", "Database", "DataType", "Encoding",
                 "Compression", "Tags", "Attributes", "Deadband",
                 "DeadbandParameters", "ViewType"]
        return metadata_result(names, ["TEXT"] * len(names), rows, limit)

    def _show_devices(self, parser, limit):
        pattern = self._pattern(parser)
        with_database = False
        if parser.accept_kw("WITH"):
            parser.expect_kw("DATABASE")
            with_database = True
        row_count, offset = self._limit_offset(parser)
        parser.end()
        devices = self.store.devices()
        matched = [d for d in sorted(devices) if match_pattern(pattern, d)]
        rows = []
        for device in page(matched, row_count, offset):
            row = [path_text(device)]
            if with_database:
                row.append(path_text(self.store.database_of(device)))
            row += ["true" if devices[device] else "false", None, "INF"]
            rows.append(row)
        names = ["Device"] + (["Database"] if with_database else []) + \
            ["IsAligned", "Template", "TTL(ms)"]
        return metadata_result(names, ["TEXT"] * len(names), rows, limit)

    def _show_databases(self, parser, limit):
        pattern = self._pattern(parser)
        parser.end()
        rows = [[path_text(db), 1, 1, 0, 604800000]
                for db in sorted(self.store.all_databases())
                if match_pattern(pattern, db)]
        names = ["Database", "SchemaReplicationFactor",
                 "DataReplicationFactor", "TimePartitionOrigin",
                 "TimePartitionInterval"]
        return metadata_result(names, ["TEXT", "INT32", "INT32", "INT64",
                                       "INT64"], rows, limit)

    def _count(self, parser, limit):
        parser.expect_kw("COUNT")
        what = parser.expect_kw("TIMESERIES", "DEVICES", "DATABASES",
                                "NODES")
        pattern = self._pattern(parser)
        level = None
        if parser.accept_kw("GROUP"):
            parser.expect_kw("BY")
            parser.expect_kw("LEVEL")
            parser.expect_op("=")
            level = parser.integer()
        parser.end()
        if what == "TIMESERIES":
            paths = [s.path for s in self.store.match(pattern)]
            header = "count(timeseries)"
        elif what == "DEVICES" and level is None:
            paths = [d for d in self.store.devices()
                     if match_pattern(pattern, d)]
            header = "count(devices)"
        else:
            raise unsupported(parser.sql, "COUNT " + what)
        if level is None:
            return metadata_result([header], ["INT64"], [[len(paths)]],
                                   limit)
        groups = {}
        for path in paths:
            if len(path) > level:
                key = path[:level + 1]
                groups[key] = groups.get(key, 0) + 1
        rows = [[path_text(k), groups[k]] for k in sorted(groups)]
        return metadata_result(["Column", header], ["TEXT", "INT64"], rows,
                               limit)

    # --------------------------------------------------------- SELECT
    def _select(self, parser, limit):
        query = self._parse_select(parser)
        columns = self._select_columns(query)
        if query["last"]:
            return self._select_last(query, columns, limit)
        if query["align_by_device"]:
            return self._select_by_device(query, columns, limit)
        return self._select_by_time(query, columns, limit)

    def _parse_select(self, parser):
        sql = parser.sql
        parser.expect_kw("SELECT")
        query = {"last": bool(parser.accept_kw("LAST")), "items": [],
                 "from": [], "range": (INT64_MIN, INT64_MAX),
                 "order": [], "limit": None, "offset": 0, "slimit": None,
                 "soffset": 0, "align_by_device": False}
        while True:
            if parser.at_kw("FROM"):
                raise parser.fail()
            token = parser.peek()
            if token is not None and token.kind == "ident" and \
                    parser.peek(1) is not None and parser.peek(1).text == "(":
                raise unsupported(sql, "A function in SELECT")
            query["items"].append(parser.path())
            if parser.at_op("+", "-", "*", "/", "%", "("):
                raise unsupported(sql, "An expression in SELECT")
            if parser.at_kw("AS"):
                raise unsupported(sql, "AS in SELECT")
            if not parser.accept_op(","):
                break
        parser.expect_kw("FROM")
        query["from"].append(parser.full_path())
        while parser.accept_op(","):
            query["from"].append(parser.full_path())
        if parser.accept_kw("WHERE"):
            query["range"] = parser.time_range()
        self._select_clauses(parser, query)
        parser.end()
        return query

    def _select_clauses(self, parser, query):
        sql = parser.sql
        while not parser.at_end():
            word = parser.expect_kw("ORDER", "LIMIT", "OFFSET", "SLIMIT",
                                    "SOFFSET", "ALIGN", "GROUP", "FILL",
                                    "HAVING", "INTO", "DISABLE")
            if word == "ORDER":
                parser.expect_kw("BY")
                query["order"] = self._order_items(parser)
            elif word in ("LIMIT", "SLIMIT"):
                number = parser.integer()
                if number <= 0:
                    raise IotdbError(701, "%s <N>: N should be greater than "
                                     "0." % word)
                query[word.lower()] = number
            elif word in ("OFFSET", "SOFFSET"):
                number = parser.integer()
                if number < 0:
                    raise IotdbError(701, "%s <OFFSETValue>: OFFSETValue "
                                     "should >= 0." % word)
                query[word.lower()] = number
            elif word == "ALIGN":
                parser.expect_kw("BY")
                query["align_by_device"] = \
                    parser.expect_kw("DEVICE", "TIME") == "DEVICE"
            else:
                raise unsupported(sql, word + " in SELECT")

    def _order_items(self, parser):
        items = []
        while True:
            key = parser.expect_kw("TIME", "TIMESTAMP", "DEVICE")
            direction = parser.accept_kw("ASC", "DESC") or "ASC"
            items.append(("TIME" if key == "TIMESTAMP" else key,
                          direction == "DESC"))
            if not parser.accept_op(","):
                return items

    def _select_columns(self, query):
        columns = []
        for item in query["items"]:
            for prefix in query["from"]:
                columns.extend(self.store.match(prefix + item))
        columns = columns[query["soffset"]:]
        if query["slimit"] is not None:
            columns = columns[:query["slimit"]]
        return columns

    def _time_descending(self, query):
        for key, descending in query["order"]:
            if key == "TIME":
                return descending
        return False

    def _select_by_time(self, query, columns, limit):
        low, high = query["range"]
        times = set()
        for series in columns:
            times.update(series.times_in(low, high))
        rows = sorted(times, reverse=self._time_descending(query))
        rows = page(rows, query["limit"], query["offset"])
        check_row_limit(len(rows), limit)
        result = {"expressions": [path_text(s.path) for s in columns],
                  "column_names": None,
                  "data_types": [s.type for s in columns],
                  "timestamps": rows, "values": []}
        if rows:
            result["values"] = [
                [render_value(s.type, s.points.get(t)) for t in rows]
                for s in columns]
        return result

    def _select_by_device(self, query, columns, limit):
        low, high = query["range"]
        measurements, types, by_device = [], {}, {}
        for series in columns:
            name = series.path[-1]
            if name not in types:
                measurements.append(name)
                types[name] = series.type
            by_device.setdefault(series.path[:-1], {})[name] = series
        rows = []
        for device, members in by_device.items():
            times = set()
            for series in members.values():
                times.update(series.times_in(low, high))
            rows.extend((device, t) for t in times)
        rows.sort(key=self._device_row_key(query))
        rows = page(rows, query["limit"], query["offset"])
        check_row_limit(len(rows), limit)
        result = {"expressions": ["Device"] + [node_text(m)
                                               for m in measurements],
                  "column_names": None,
                  "data_types": ["TEXT"] + [types[m] for m in measurements],
                  "timestamps": [t for _, t in rows], "values": []}
        if rows:
            values = [[path_text(d) for d, _ in rows]]
            for name in measurements:
                column = []
                for device, when in rows:
                    series = by_device[device].get(name)
                    column.append(render_value(
                        series.type, series.points.get(when))
                        if series else None)
                values.append(column)
            result["values"] = values
        return result

    def _device_row_key(self, query):
        order = list(query["order"]) or [("DEVICE", False), ("TIME", False)]
        if all(key != "DEVICE" for key, _ in order):
            order.append(("DEVICE", False))
        if all(key != "TIME" for key, _ in order):
            order.append(("TIME", False))

        def key(row):
            parts = []
            for name, descending in order:
                if name == "TIME":
                    parts.append(-row[1] if descending else row[1])
                else:
                    parts.append(_Reversible(row[0], descending))
            return parts
        return key

    def _select_last(self, query, columns, limit):
        low, high = query["range"]
        rows = []
        for series in sorted(set(columns), key=lambda s: s.path):
            times = series.times_in(low, high)
            if times:
                last = times[-1]
                rows.append((last, path_text(series.path),
                             value_string(series.type, series.points[last]),
                             series.type))
        check_row_limit(len(rows), limit)
        result = {"expressions": ["Timeseries", "Value", "DataType"],
                  "column_names": None,
                  "data_types": ["TEXT", "TEXT", "TEXT"],
                  "timestamps": [r[0] for r in rows], "values": []}
        if rows:
            result["values"] = [[r[1] for r in rows], [r[2] for r in rows],
                                [r[3] for r in rows]]
        return result

    # -------------------------------------------------------- nonQuery
    def non_query(self, sql):
        parser = Parser(sql)
        word = parser.peek().upper()
        if word == "INSERT":
            self._insert(parser)
        elif word == "DELETE":
            self._delete(parser)
        elif word == "CREATE":
            self._create(parser)
        elif word == "DROP":
            self._drop(parser)
        elif word == "FLUSH":
            parser.next()
            parser.end()
        elif word == "SET" and parser.peek(1) is not None and \
                parser.peek(1).upper() == "STORAGE":
            parser.next()
            parser.expect_kw("STORAGE")
            parser.expect_kw("GROUP")
            parser.expect_kw("TO")
            self._create_database(parser)
        else:
            raise unsupported(sql, "This statement")
        return SUCCESS

    def check_time(self, when):
        bound = PRECISION_CHECK.get(self.precision)
        if bound is not None and when > bound:
            raise IotdbError(701, "Current system timestamp precision is %s, "
                             "please check whether the timestamp %s is "
                             "correct." % (self.precision, when))

    def now(self):
        scale = {"ms": 10 ** 6, "us": 10 ** 3, "ns": 1}[self.precision]
        return time.time_ns() // scale

    def _insert(self, parser):
        parser.expect_kw("INSERT")
        parser.expect_kw("INTO")
        device = parser.full_path(wildcards=False)
        parser.expect_op("(")
        names = [parser.node(wildcards=False)]
        while parser.accept_op(","):
            names.append(parser.node(wildcards=False))
        parser.expect_op(")")
        aligned = bool(parser.accept_kw("ALIGNED"))
        parser.expect_kw("VALUES")
        rows = [self._value_tuple(parser)]
        while parser.accept_op(","):
            rows.append(self._value_tuple(parser))
        parser.end()
        time_index = self._time_index(names)
        if time_index is None and len(rows) > 1:
            raise IotdbError(701, "need timestamps when insert multi rows")
        staged, pending = [], {}
        for row in rows:
            staged.extend(self._insert_row(device, names, time_index, row,
                                           pending))
        self._commit(staged, aligned)

    def _value_tuple(self, parser):
        parser.expect_op("(")
        values = [parser.literal()]
        while parser.accept_op(","):
            values.append(parser.literal())
        parser.expect_op(")")
        return values

    @staticmethod
    def _time_index(names):
        for index, name in enumerate(names):
            if name.lower() in ("time", "timestamp"):
                return index
        return None

    def _insert_row(self, device, names, time_index, row, pending):
        """(path, type, time, value) of one VALUES tuple; `pending` holds
        the types of series this statement creates."""
        if len(row) != len(names):
            raise IotdbError(701, "the measurementList's size %d is not "
                             "consistent with the valueList's size %d"
                             % (len(names) - (time_index is not None),
                                len(row) - (time_index is not None)))
        when = self.now() if time_index is None else \
            self._time_literal(row[time_index])
        self.check_time(when)
        staged = []
        for index, (name, literal) in enumerate(zip(names, row)):
            if index == time_index or literal[0] == "null":
                continue
            path = device + (name,)
            series = self.store.series.get(path)
            type_name = series.type if series else \
                pending.setdefault(path, self._infer(literal))
            staged.append((path, type_name, when,
                           self._literal_value(path, type_name, when,
                                               literal)))
        return staged

    def _time_literal(self, literal):
        kind, value, text = literal
        if kind == "int":
            return value
        if kind == "now":
            return self.now()
        raise IotdbError(701, "Input time format %s error. Input like "
                         "yyyy-MM-dd HH:mm:ss, yyyy-MM-ddTHH:mm:ss or refer "
                         "to user document for more info." % text)

    def _infer(self, literal):
        kind = literal[0]
        return {"int": self.integer_infer_type, "dec": "DOUBLE",
                "nan": "DOUBLE", "bool": "BOOLEAN", "str": "TEXT",
                "blob": "BLOB", "now": "INT64"}[kind]

    def _literal_value(self, path, type_name, when, literal):
        kind, value, text = literal
        converted = _convert_literal(type_name, kind, value, text)
        if converted is None:
            raise IotdbError(614, "data type of %s.%s is not consistent, "
                             "registered type %s, inserting type %s, "
                             "timestamp %s, value %s"
                             % (path_text(path[:-1]), node_text(path[-1]),
                                type_name, self._infer(literal), when, text))
        return converted

    def _commit(self, staged, aligned):
        """Writes checked points, creating missing series."""
        for path, type_name, when, value in staged:
            series = self.store.get_or_create(path, type_name, aligned)
            series.put(when, convert_type(value, type_name, series.type))

    def _delete(self, parser):
        parser.expect_kw("DELETE")
        if parser.accept_kw("TIMESERIES"):
            patterns = self._path_list(parser)
            parser.end()
            for pattern in patterns:
                for series in self.store.match(pattern):
                    del self.store.series[series.path]
            return
        parser.expect_kw("FROM")
        patterns = self._path_list(parser)
        low, high = INT64_MIN, INT64_MAX
        if parser.accept_kw("WHERE"):
            low, high = parser.time_range()
        parser.end()
        for pattern in patterns:
            for series in self.store.match(pattern):
                series.delete(low, high)

    @staticmethod
    def _path_list(parser):
        paths = [parser.full_path()]
        while parser.accept_op(","):
            paths.append(parser.full_path())
        return paths

    def _create(self, parser):
        parser.expect_kw("CREATE")
        if parser.accept_kw("DATABASE"):
            return self._create_database(parser)
        if parser.accept_kw("ALIGNED"):
            parser.expect_kw("TIMESERIES")
            return self._create_aligned(parser)
        parser.expect_kw("TIMESERIES")
        path = parser.full_path(wildcards=False)
        alias = None
        if parser.accept_op("("):
            alias = parser.node(wildcards=False)
            parser.expect_op(")")
        schema = self._series_attributes(parser, parser.sql)
        parser.end()
        self._create_series(path, schema, alias=alias)

    def _create_aligned(self, parser):
        device = parser.full_path(wildcards=False)
        parser.expect_op("(")
        members = []
        while True:
            name = parser.node(wildcards=False)
            members.append((device + (name,),
                            self._series_attributes(parser, parser.sql)))
            if not parser.accept_op(","):
                break
        parser.expect_op(")")
        parser.end()
        for path, schema in members:
            self._create_series(path, schema, aligned=True)

    def _series_attributes(self, parser, sql):
        schema = {}
        parser.accept_kw("WITH")
        while not parser.at_end() and not parser.at_op(",", ")"):
            token = parser.next()
            word = token.upper()
            if word in ("DATATYPE", "ENCODING", "COMPRESSOR", "COMPRESSION"):
                parser.expect_op("=")
                schema[word] = parser.next().text
            elif word in ("TAGS", "ATTRIBUTES"):
                schema[word] = self._key_values(parser)
            elif "DATATYPE" not in schema and token.kind == "ident":
                schema["DATATYPE"] = token.text
            else:
                raise parse_error(sql, token.pos)
            if parser.at_op(",") and parser.peek(1) is not None and \
                    parser.peek(1).upper() in ("DATATYPE", "ENCODING",
                                               "COMPRESSOR", "COMPRESSION",
                                               "TAGS", "ATTRIBUTES"):
                parser.next()
        return schema

    @staticmethod
    def _key_values(parser):
        parser.expect_op("(")
        pairs = {}
        while True:
            key = parser.next().value
            parser.expect_op("=")
            pairs[key] = parser.next().value
            if not parser.accept_op(","):
                break
        parser.expect_op(")")
        return pairs

    def _create_series(self, path, schema, alias=None, aligned=False):
        type_name = parse_type(schema.get("DATATYPE"))
        if type_name is None:
            raise IotdbError(701, "Unsupported datatype: %s"
                             % schema.get("DATATYPE"))
        if path in self.store.series:
            raise IotdbError(503, "Path [%s] already exist" % path_text(path))
        self.store.create(path, type_name,
                          encoding=(schema.get("ENCODING") or "").upper()
                          or None,
                          compression=(schema.get("COMPRESSOR") or
                                       schema.get("COMPRESSION") or "").upper()
                          or None,
                          aligned=aligned, alias=alias,
                          tags=schema.get("TAGS"),
                          attributes=schema.get("ATTRIBUTES"))

    def _create_database(self, parser):
        path = parser.full_path(wildcards=False)
        parser.end()
        if path in self.store.databases:
            raise IotdbError(501, "%s has already been created as database"
                             % path_text(path))
        self.store.databases.add(path)

    def _drop(self, parser):
        parser.expect_kw("DROP")
        parser.expect_kw("DATABASE")
        patterns = self._path_list(parser)
        parser.end()
        for pattern in patterns:
            for database in list(self.store.all_databases()):
                if match_pattern(pattern, database):
                    self.store.databases.discard(database)
                    for path in list(self.store.series):
                        if path[:len(database)] == database:
                            del self.store.series[path]

    # ----------------------------------------------------- insertTablet
    def insert_tablet(self, body):
        for field in ("timestamps", "is_aligned", "device", "data_types",
                      "measurements", "values"):
            if body.get(field) is None:
                raise IotdbError(305, "%s should not be null" % field)
        device_text = body["device"]
        measurements, data_types = body["measurements"], body["data_types"]
        _check_types(device_text, measurements, data_types)
        timestamps, values = _sorted_tablet(body["timestamps"],
                                            body["values"], len(data_types))
        if not timestamps:
            raise IotdbError(305, "Index -1 out of bounds for length 0")
        self.check_time(timestamps[-1])
        device = check_full_path(parse_path_text(str(device_text)),
                                 str(device_text))
        names = [parse_measurement(m) for m in measurements]
        types = [parse_type(t) for t in data_types]
        columns = [_tablet_column(types[c], _column(values, c),
                                  len(timestamps))
                   for c in range(len(types))]
        if len(names) < len(types):
            raise IotdbError(305, "Index %d out of bounds for length %d"
                             % (len(names), len(names)))
        staged = []
        for c, type_name in enumerate(types):
            path = device + (names[c],)
            for row, when in enumerate(timestamps):
                if columns[c][row] is not None:
                    staged.append((path, type_name, when, columns[c][row]))
        self._check_schema(staged)
        self._commit(staged, bool(body["is_aligned"]))
        return SUCCESS

    def _check_schema(self, staged):
        """614 when a value's type does not fit its series (an existing
        one, or the first type this request gives a new one)."""
        new_types = {}
        for path, type_name, when, value in staged:
            series = self.store.series.get(path)
            registered = series.type if series else \
                new_types.setdefault(path, type_name)
            if type_name not in ACCEPTS[registered]:
                raise IotdbError(614, "data type of %s.%s is not consistent, "
                                 "registered type %s, inserting type %s, "
                                 "timestamp %s, value %s"
                                 % (path_text(path[:-1]), node_text(path[-1]),
                                    registered, type_name, when,
                                    value_string(type_name, value)))

    # ---------------------------------------------------- insertRecords
    def insert_records(self, body):
        for field in ("timestamps", "is_aligned", "devices",
                      "data_types_list", "values_list", "measurements_list"):
            if body.get(field) is None:
                raise IotdbError(305, "%s should not be null" % field)
        errors = []
        for i, types in enumerate(body["data_types_list"]):
            for c, type_text in enumerate(types):
                if parse_type(type_text) is None:
                    errors.append("The %s data type of %s.%s is illegal" % (
                        type_text, body["devices"][i],
                        body["measurements_list"][i][c]))
        if errors:
            raise IotdbError(305, ",".join(errors))
        staged = []
        for i, device_text in enumerate(body["devices"]):
            device = check_full_path(parse_path_text(str(device_text)),
                                     str(device_text))
            when = body["timestamps"][i]
            self.check_time(when)
            for c, name in enumerate(body["measurements_list"][i]):
                value = body["values_list"][i][c]
                if value is None:
                    continue
                type_name = parse_type(body["data_types_list"][i][c])
                converted = _tablet_column(type_name, [value], 1)[0]
                staged.append((device + (parse_measurement(name),),
                               type_name, when, converted))
        self._check_schema(staged)
        self._commit(staged, bool(body["is_aligned"]))
        return SUCCESS


class _Reversible:
    """A sort key part that can be ordered descending."""

    def __init__(self, value, descending):
        self.value, self.descending = value, descending

    def __lt__(self, other):
        if self.descending:
            return other.value < self.value
        return self.value < other.value

    def __eq__(self, other):
        return self.value == other.value


def _convert_literal(type_name, kind, value, text):
    """An SQL literal as a stored value of `type_name`, or None."""
    if type_name == "BOOLEAN":
        if kind == "bool":
            return value
        if kind == "int" and value in (0, 1):
            return value == 1
        return None
    if type_name in ("INT32", "INT64", "TIMESTAMP"):
        low, high = ((INT32_MIN, INT32_MAX) if type_name == "INT32"
                     else (INT64_MIN, INT64_MAX))
        if kind == "int" and low <= value <= high:
            return value
        return None
    if type_name in ("FLOAT", "DOUBLE"):
        if kind not in ("int", "dec", "nan"):
            return None
        number = float(value) if kind != "nan" else math.nan
        return to_float32(number) if type_name == "FLOAT" else number
    if type_name in ("TEXT", "STRING"):
        return text if kind in ("str", "int", "dec", "bool", "nan") else None
    if type_name == "BLOB":
        if kind == "blob":
            return value
        return value.encode("utf-8") if kind == "str" else None
    if type_name == "DATE":
        return date_from_text(value) if kind == "str" else None
    return None


def _check_types(device, measurements, data_types):
    """RequestValidationHandler: every type name must be a TSDataType."""
    errors = []
    for i, measurement in enumerate(measurements):
        if i >= len(data_types):
            raise IotdbError(305, "Index %d out of bounds for length %d"
                             % (i, len(data_types)))
        if parse_type(data_types[i]) is None:
            errors.append("The %s data type of %s.%s is illegal"
                          % (data_types[i], device, measurement))
    if errors:
        raise IotdbError(305, ",".join(errors))


def _column(values, index):
    if not isinstance(values, list) or index >= len(values):
        raise IotdbError(305, "Index %d out of bounds for length %d"
                         % (index, len(values) if isinstance(values, list)
                            else 0))
    column = values[index]
    if not isinstance(column, list):
        raise IotdbError(305, "values[%d] should be a list" % index)
    return column


def _cell(column, row):
    if row >= len(column):
        raise IotdbError(305, "Index %d out of bounds for length %d"
                         % (row, len(column)))
    return column[row]


def _sorted_tablet(timestamps, values, column_count):
    """InsertTabletSortDataUtils: rows put in time order (stable)."""
    times = []
    for when in timestamps:
        if isinstance(when, bool) or not isinstance(when, (int, float)):
            raise IotdbError(305, "timestamps should be integers")
        times.append(int(when))
    if all(a <= b for a, b in zip(times, times[1:])):
        return times, values
    order = sorted(range(len(times)), key=lambda i: times[i])
    reordered = []
    for c in range(column_count):
        column = _column(values, c)
        reordered.append([_cell(column, i) for i in order])
    return [times[i] for i in order], reordered


def _tablet_column(type_name, column, rows):
    """One insertTablet column parsed as StatementConstructionHandler."""
    return [None if _cell(column, r) is None else
            _tablet_value(type_name, column[r]) for r in range(rows)]


def _unsupported_class(value):
    return IotdbError(606, "unsupported data type: class %s"
                      % java_class(value))


def _tablet_value(type_name, value):
    cls = java_class(value)
    if type_name == "BOOLEAN":
        text = java_to_string(value)
        if text in ("1", "0"):
            return text == "1"
        if isinstance(value, bool):
            return value
        raise IotdbError(305, "class %s cannot be cast to class "
                         "java.lang.Boolean (%s and java.lang.Boolean are in "
                         "module java.base of loader 'bootstrap')"
                         % (cls, cls))
    if type_name in ("INT32", "DATE"):
        if cls != "java.lang.Integer":
            raise _unsupported_class(value)
        if type_name == "INT32":
            return value
        date = date_from_int(value)
        if date is None:
            raise IotdbError(606, "unsupported date value: %d" % value)
        return date
    if type_name in ("INT64", "TIMESTAMP"):
        if cls not in ("java.lang.Integer", "java.lang.Long"):
            raise _unsupported_class(value)
        return value
    if type_name in ("FLOAT", "DOUBLE"):
        try:
            number = java_parse_double(java_to_string(value))
        except ValueError as error:
            raise IotdbError(305, str(error))
        return to_float32(number) if type_name == "FLOAT" else number
    text = java_to_string(value)
    return text.encode("utf-8") if type_name == "BLOB" else text


# --------------------------------------------------------------------------
# The service: auth, endpoints, fault injection, request log
# --------------------------------------------------------------------------

def _java_split_colon(text):
    """Java's text.split(":"): trailing empty strings are dropped."""
    parts = text.split(":")
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if parts == [""]:
        return [""]
    return parts


class Service:
    """The stand-in's state and its answers, independent of HTTP."""

    def __init__(self, store, engine, user, password, row_limit):
        self.store = store
        self.engine = engine
        self.user = user
        self.password = password
        self.row_limit = row_limit
        self.faults = []
        self.log = []

    # -- auth (AuthorizationFilter)
    def check_auth(self, header):
        """None when allowed, else (http status, body)."""
        if header is None:
            return 401, status(800, "INIT_AUTH_ERROR")
        encoded = header.replace("Basic ", "")
        encoded += "=" * (-len(encoded.rstrip("=")) % 4 if "=" not in encoded
                          else 0)
        try:
            decoded = base64.b64decode(encoded, validate=True).decode(
                "utf-8", "replace")
        except (binascii.Error, ValueError) as error:
            return 500, status(500, "Illegal base64 character: %s" % error)
        parts = _java_split_colon(decoded)
        if len(parts) != 2:
            return 400, status(303, "Illegal format of authorization header.")
        if parts[0] != self.user or parts[1] != self.password:
            return 401, status(801, "WRONG_LOGIN_PASSWORD")
        return None

    # -- endpoints; each returns a body for HTTP 200
    def effective_limit(self, requested):
        if requested is None:
            return self.row_limit
        if self.row_limit > 0:
            return min(requested, self.row_limit)
        return requested

    def _sql_request(self, body):
        if not isinstance(body, dict) or body.get("sql") is None:
            raise IotdbError(305, "sql should not be null")
        row_limit = body.get("row_limit")
        if row_limit is not None:
            if isinstance(row_limit, str) and re.fullmatch(r"-?\d+",
                                                           row_limit):
                row_limit = int(row_limit)
            if isinstance(row_limit, bool) or not isinstance(row_limit, int):
                raise IotdbError(305, "row_limit should be an integer")
            if row_limit <= 0:
                raise IotdbError(305, "row_limit should be positive")
        return str(body["sql"]), row_limit

    def query(self, body):
        sql, row_limit = self._sql_request(body)
        if statement_kind(sql) != "query":
            return status(301, "EXECUTE_STATEMENT_ERROR")
        with self.store.lock:
            return self.engine.query(sql, self.effective_limit(row_limit))

    def non_query(self, body):
        sql, _ = self._sql_request(body)
        if statement_kind(sql) != "nonquery":
            return status(301, "EXECUTE_STATEMENT_ERROR")
        with self.store.lock:
            return self.engine.non_query(sql)

    def insert_tablet(self, body):
        if not isinstance(body, dict):
            raise IotdbError(305, "timestamps should not be null")
        with self.store.lock:
            return self.engine.insert_tablet(body)

    def insert_records(self, body):
        if not isinstance(body, dict):
            raise IotdbError(305, "timestamps should not be null")
        with self.store.lock:
            return self.engine.insert_records(body)

    # -- fault injection
    def add_fault(self, body):
        if body.get("clear") or body.get("next", 1) <= 0:
            self.faults.clear()
            return
        rule = {"left": int(body.get("next", 1)),
                "path": body.get("path") or "/rest/v2/"}
        for key in ("http", "code", "message", "drop", "delay_ms"):
            if key in body:
                rule[key] = body[key]
        self.faults.append(rule)

    def take_fault(self, path):
        with self.store.lock:
            for rule in self.faults:
                if not path.startswith(rule["path"]):
                    continue
                rule["left"] -= 1
                if rule["left"] <= 0:
                    self.faults.remove(rule)
                return rule
        return None

    def record(self, entry):
        with self.store.lock:
            entry["seq"] = len(self.log) + 1
            self.log.append(entry)


REST_ENDPOINTS = {
    "/rest/v2/query": Service.query,
    "/rest/v2/nonQuery": Service.non_query,
    "/rest/v2/insertTablet": Service.insert_tablet,
    "/rest/v2/insertRecords": Service.insert_records,
}


def _log_entry(path, body):
    entry = {"path": path}
    if not isinstance(body, dict):
        return entry
    if "sql" in body:
        entry["sql"] = body.get("sql")
        if "row_limit" in body:
            entry["row_limit"] = body.get("row_limit")
    if path.endswith("insertTablet"):
        entry["device"] = body.get("device")
        entry["measurements"] = body.get("measurements")
        timestamps = body.get("timestamps")
        entry["rows"] = len(timestamps) if isinstance(timestamps, list) \
            else None
    if path.endswith("insertRecords"):
        entry["devices"] = body.get("devices")
        timestamps = body.get("timestamps")
        entry["rows"] = len(timestamps) if isinstance(timestamps, list) \
            else None
    return entry


class _BadJson(ValueError):
    pass


def _reject_constant(name):
    raise _BadJson("Non-standard token '%s'" % name)


def parse_body(raw):
    """The JSON request body (Jackson rejects NaN tokens); _BadJson."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"),
                          parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise _BadJson(str(error))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "IoTDB-REST-standin"
    # Headers and body go out in two writes: without TCP_NODELAY the second
    # waits for the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    service = None  # set by make_server
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("standin: " + fmt % args + "\n")

    # -- I/O
    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip()
                           or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, http_status, body):
        data = to_json(body).encode("utf-8")
        self.send_response(http_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- methods
    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def do_PUT(self):
        self._route("PUT")

    def _route(self, method):
        path = urlsplit(self.path).path
        raw = self._read_body()
        if path == "/ping":
            self._ping(method)
        elif path.startswith("/standin/"):
            self._standin(method, path, raw)
        elif path in REST_ENDPOINTS:
            self._rest(method, path, raw)
        else:
            self._send(404, status(404, "HTTP 404 Not Found"))

    def _ping(self, method):
        if method != "GET":
            self._send(405, status(405, "HTTP 405 Method Not Allowed"))
            return
        fault = self.service.take_fault("/ping")
        if fault and self._apply_fault(fault, {"path": "/ping"}):
            return
        self._send(200, SUCCESS)

    def _rest(self, method, path, raw):
        if method != "POST":
            self._send(405, status(405, "HTTP 405 Method Not Allowed"))
            return
        try:
            body = parse_body(raw)
        except _BadJson as error:
            body, bad_json = None, str(error)
        else:
            bad_json = None
        entry = _log_entry(path, body)
        fault = self.service.take_fault(path)
        if fault and self._apply_fault(fault, entry):
            return
        denied = self.service.check_auth(self.headers.get("Authorization"))
        if denied is not None:
            self._finish(entry, *denied)
            return
        if bad_json is not None:
            self._finish(entry, 400, status(400, "Unable to process JSON: "
                                            + bad_json))
            return
        try:
            answer = REST_ENDPOINTS[path](self.service, body if body is not
                                          None else {})
        except IotdbError as error:
            answer = status(error.code, error.message)
        self._finish(entry, 200, answer)

    def _apply_fault(self, fault, entry):
        """Carries out an injected fault; True when it answered."""
        entry["injected"] = True
        if fault.get("delay_ms"):
            time.sleep(fault["delay_ms"] / 1000.0)
        if fault.get("drop"):
            entry["http"] = None
            self.service.record(entry)
            self.close_connection = True
            return True
        if "http" in fault:
            self._finish(entry, int(fault["http"]),
                         status(int(fault.get("code", fault["http"])),
                                fault.get("message", "injected")))
            return True
        if "code" in fault:
            self._finish(entry, 200, status(int(fault["code"]),
                                            fault.get("message", "injected")))
            return True
        entry.pop("injected")
        return False

    def _finish(self, entry, http_status, body):
        entry["http"] = http_status
        if isinstance(body, dict) and "code" in body:
            entry["code"] = body["code"]
        elif isinstance(body, dict) and body.get("values") is not None:
            values = body["values"]
            entry["rows"] = len(values[0]) if values else 0
        self.service.record(entry)
        self._send(http_status, body)

    # -- test-only endpoints
    def _standin(self, method, path, raw):
        service = self.service
        try:
            body = parse_body(raw) or {}
        except _BadJson as error:
            self._send(400, status(400, str(error)))
            return
        try:
            if path == "/standin/points" and method == "POST":
                with service.store.lock:
                    for entry in body.get("series") or []:
                        service.store.add_series_entry(entry)
                    count = service.store.add_points(body.get("points") or [])
                self._send(200, dict(SUCCESS, points=count))
            elif path == "/standin/dump" and method == "GET":
                with service.store.lock:
                    dump = service.store.dump()
                dump["precision"] = service.engine.precision
                self._send(200, dump)
            elif path == "/standin/fail" and method == "POST":
                with service.store.lock:
                    service.add_fault(body)
                self._send(200, SUCCESS)
            elif path == "/standin/log" and method == "GET":
                with service.store.lock:
                    self._send(200, list(service.log))
            elif (path == "/standin/log/clear" and method == "POST") or \
                    (path == "/standin/log" and method == "DELETE"):
                with service.store.lock:
                    service.log.clear()
                self._send(200, SUCCESS)
            else:
                self._send(404, status(404, "HTTP 404 Not Found"))
        except (ValueError, KeyError, TypeError, IotdbError) as error:
            message = error.message if isinstance(error, IotdbError) \
                else str(error)
            self._send(400, status(400, message))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def load_data_file(store, path):
    """Fills `store` from the data file; absent or empty means empty."""
    if not path or not os.path.exists(path):
        return
    with open(path, "rb") as handle:
        raw = handle.read()
    if not raw.strip():
        return
    data = json.loads(raw.decode("utf-8"))
    store.load(data or {})


def write_port_file(path, port):
    temporary = "%s.tmp.%d" % (path, os.getpid())
    with open(temporary, "w") as handle:
        handle.write("%d\n" % port)
    os.replace(temporary, path)


def make_server(args):
    store = Store()
    load_data_file(store, args.data)
    engine = Engine(store, precision=args.precision,
                    integer_infer_type=args.integer_infer_type)
    service = Service(store, engine, args.user, args.password,
                      args.row_limit)
    handler = type("BoundHandler", (Handler,), {"service": service,
                                                "verbose": args.verbose})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    return server


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Stand-in for Apache IoTDB's REST v2 (tree model).")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", default=None)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="root")
    parser.add_argument("--row-limit", type=int, default=10000)
    parser.add_argument("--precision", choices=("ms", "us", "ns"),
                        default="ms")
    parser.add_argument("--port-file", default=None)
    parser.add_argument("--integer-infer-type", default="DOUBLE",
                        choices=("INT32", "INT64", "FLOAT", "DOUBLE",
                                 "TEXT"))
    parser.add_argument("--verbose", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        server = make_server(args)
    except (OSError, ValueError, KeyError, IotdbError) as error:
        message = error.message if isinstance(error, IotdbError) else error
        sys.stderr.write("iotdb stand-in: cannot start: %s\n" % message)
        return 2
    port = server.server_address[1]

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    print("iotdb stand-in listening on http://127.0.0.1:%d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
