#!/usr/bin/env python3
"""IoTFlow's device telemetry as Apache IoTDB holds it, deterministic.

Writes, under --out DIR:
  standin.json           the data file of tests/iotdb_standin.py (IoTDB's REST
                         service stand-in): {"series": [...], "points": [...]}
  export/dump0_<n>.csv   the same data as IoTDB's export tool writes it
                         (export-data.sh -ft csv -dt true -tz +08:00, align
                         by time, 10000 data lines per file)
and a one-line summary on stderr.

Series: root.iotflow.devices.`<n>`.<measurement> (a numeric node needs
backquotes in IoTDB), devices 1..N, each with
  temperature DOUBLE   (now and then NaN, rarely a raw ADC glitch like 1.23E7)
  humidity    FLOAT    battery INT32 (percent)   uptime INT64 (ms since boot)
  online      BOOLEAN  status TEXT ("ok", "degraded", ...; a few hold a
  comma, a double quote, a backslash or a newline)   firmware STRING
Each device reports every --every-seconds at its own phase and jitter (so
times carry a millisecond fraction); measurements are sometimes missing,
and firmware is reported only now and then.

Time starts at 2024-02-29T12:00:00Z, so the default 24 hours cross midnight,
a month boundary and a leap day (in UTC and at +08:00).

Late points: a device that goes offline buffers its readings and uploads
most of them after the regular stream, with their old timestamps; the rest
are lost. Duplicate points: the same series and time written twice, either
a retry straight after the first write or a correction in the last batch.
IoTDB keeps the last write of a series and time; so does the stand-in, in
the order of "points": THE LATER ENTRY WINS. The export shows IoTDB's state,
so it holds each point once, with the winning value.

The same --seed and sizes always give the same bytes. Standard library only.
"""
import argparse
import datetime as dt
import decimal
import json
import math
import os
import random
import struct
import sys

START = dt.datetime(2024, 2, 29, 12, 0, 0, tzinfo=dt.timezone.utc)
START_MS = int(START.timestamp()) * 1000
EXPORT_ZONE = dt.timezone(dt.timedelta(hours=8))  # the export client's zone
LINES_PER_FILE = 10000                             # export-data.sh -lpf default

MEASUREMENTS = [("temperature", "DOUBLE"), ("humidity", "FLOAT"), ("battery", "INT32"),
                ("uptime", "INT64"), ("online", "BOOLEAN"), ("status", "TEXT"),
                ("firmware", "STRING")]
TYPES = dict(MEASUREMENTS)
ORDER = {name: i for i, (name, _) in enumerate(MEASUREMENTS)}

ODD_STATUSES = ['maintenance, scheduled', 'sensor said "low signal"', 'log at C:\\iot\\logs',
                'degraded\nfan stalled', 'ok, "recovered", after reboot']
FIRMWARES = ["v2.3.1", "v2.3.4", "v2.4.0-rc.1"]


# -- Java's Float/Double.toString (what the export tool prints) --------------

def to_float32(value):
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _java_layout(negative, digits, exponent):
    if -3 <= exponent < 7:
        if exponent >= 0:
            whole = digits[:exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1:] or "0"
        else:
            whole, fraction = "0", "0" * (-exponent - 1) + digits
        text = whole + "." + fraction
    else:
        text = digits[0] + "." + (digits[1:] or "0") + "E" + str(exponent)
    return ("-" if negative else "") + text


def _digits(decimal_text):
    _, digits, exponent = decimal.Decimal(decimal_text).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exponent += 1
    return "".join(map(str, digits)), len(digits) - 1 + exponent


def _special(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    return None


def java_double(value):
    special = _special(value)
    if special is not None:
        return special
    return _java_layout(value < 0, *_digits(repr(abs(value))))


def java_float(value):
    value = to_float32(value)
    special = _special(value)
    if special is not None:
        return special
    for precision in range(1, 10):  # shortest digits that read back as the single
        text = "%.*e" % (precision - 1, abs(value))
        if to_float32(float(text)) == abs(value):
            break
    return _java_layout(value < 0, *_digits(text))


# -- the data -----------------------------------------------------------------

def series_path(device, measurement):
    return "root.iotflow.devices.`%d`.%s" % (device, measurement)


class Device:
    def __init__(self, rng, n):
        self.n = n
        self.base_temp = 18.0 + rng.random() * 8.0
        self.base_hum = 35.0 + rng.random() * 25.0
        self.battery = 60 + rng.randrange(41)
        self.boot_ms = START_MS - rng.randrange(30, 400) * 86400000 - rng.randrange(86400000)
        self.firmware = FIRMWARES[rng.randrange(2)]
        self.upgrade_tick = -1  # the tick of a firmware upgrade, if any (set by generate)

    def reading(self, rng, tick, t, ticks_per_day):
        """{measurement: value} of one reading (some measurements missing)."""
        if tick == self.upgrade_tick:
            self.firmware = FIRMWARES[2]
            self.boot_ms = t - rng.randrange(20000, 90000)  # an upgrade reboots
        day = 2 * math.pi * (tick % ticks_per_day) / ticks_per_day
        values = {}
        roll = rng.random()
        if roll < 0.002:
            values["temperature"] = "NaN"  # a failed sensor read
        elif roll < 0.0025:
            values["temperature"] = rng.randrange(10**8, 10**9) / 10.0  # raw ADC glitch
        else:
            values["temperature"] = round(self.base_temp + 4 * math.sin(day) + rng.gauss(0, 0.3), 2)
        values["humidity"] = min(100.0, round(self.base_hum - 8 * math.sin(day) + rng.gauss(0, 1), 1))
        if rng.random() < 0.01:
            self.battery = min(100, self.battery + 30)  # charged
        elif rng.random() < 0.05:
            self.battery = max(0, self.battery - 1)
        values["battery"] = self.battery
        values["uptime"] = t - self.boot_ms
        values["online"] = rng.random() >= 0.03
        roll = rng.random()
        if tick == self.upgrade_tick:
            values["status"] = "rebooting"
        elif roll < 0.004:
            values["status"] = ODD_STATUSES[rng.randrange(len(ODD_STATUSES))]
        elif roll < 0.06:
            values["status"] = "degraded"
        else:
            values["status"] = "ok"
        if tick % 30 == 0 or tick == self.upgrade_tick:
            values["firmware"] = self.firmware
        for m in list(values):
            if m != "firmware" and rng.random() < 0.03:
                del values[m]  # a measurement that did not arrive
        return values


def corrected(rng, measurement, value):
    """A different value for a rewrite of the same point."""
    if measurement == "temperature":
        base = 20.0 if value == "NaN" else value
        return round(base + rng.choice([-1, 1]) * (0.05 + rng.randrange(50) / 100.0), 2)
    if measurement == "humidity":
        return round(max(0.0, value - 0.5 - rng.randrange(20) / 10.0), 1)
    if measurement == "battery":
        return max(0, value - 1)
    if measurement == "uptime":
        return value + 1000
    if measurement == "online":
        return not value
    if measurement == "status":
        return "degraded" if value == "ok" else "ok"
    return value + "-hotfix"


def generate(args):
    rng = random.Random(args.seed)
    period = args.every_seconds * 1000
    ticks = args.hours * 3600 // args.every_seconds
    ticks_per_day = max(1, 86400 // args.every_seconds)
    jitter_max = max(1, min(2500, period // 4))
    devices = [Device(rng, n) for n in range(1, args.devices + 1)]
    for d in devices:
        d.upgrade_tick = rng.randrange(ticks) if rng.random() < 0.3 and ticks else -1

    regular, late, corrections = [], [], []  # (time, device, measurement, value)
    for d in devices:
        phase = rng.randrange(period)
        outage_left = 0
        for tick in range(ticks):
            t = START_MS + tick * period + phase + rng.randrange(jitter_max)
            values = d.reading(rng, tick, t, ticks_per_day)
            if outage_left == 0 and rng.random() < 0.002:
                outage_left = rng.randrange(5, 40)
            if outage_left > 0:
                outage_left -= 1
                if rng.random() < 0.8:  # buffered, uploaded after reconnecting
                    late.extend((t, d.n, m, v) for m, v in values.items())
                continue  # else lost
            for m, v in values.items():
                regular.append((t, d.n, m, v))
                roll = rng.random()
                if roll < 0.002:
                    regular.append((t, d.n, m, v))  # a retry, same value
                elif roll < 0.003:
                    regular.append((t, d.n, m, corrected(rng, m, v)))  # a retry, new value
                elif roll < 0.004:
                    corrections.append((t, d.n, m, corrected(rng, m, v)))
    # The regular stream arrives in time order, the late uploads device by
    # device, the corrections last.
    key = lambda p: (p[0], p[1], ORDER[p[2]])
    regular.sort(key=key)
    late.sort(key=lambda p: (p[1], p[0], ORDER[p[2]]))
    corrections.sort(key=lambda p: (p[1], p[0], ORDER[p[2]]))
    return devices, regular + late + corrections, len(late)


def json_value(value):
    return json.dumps(value, ensure_ascii=False)


def write_standin(path, devices, points):
    with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as out:
        out.write('{"comment": "IoTDB keeps the last write of a series and time: a later entry '
                  'in points overwrites an earlier one",\n "series": [\n')
        rows = ['  {"path": %s, "type": "%s"}' % (json_value(series_path(d.n, m)), t)
                for d in devices for m, t in MEASUREMENTS]
        out.write(",\n".join(rows))
        out.write('],\n "points": [\n')
        out.write(",\n".join('  {"path": %s, "time": %d, "value": %s}' %
                             (json_value(series_path(n, m)), t, json_value(v))
                             for t, n, m, v in points))
        out.write("]}\n")
    os.replace(path + ".tmp", path)


def csv_cell(measurement, value):
    kind = TYPES[measurement]
    if kind in ("TEXT", "STRING"):
        text = '"%s"' % value  # IoTDB's literal quotes, then Commons CSV's escapes
        return (text.replace("\\", "\\\\").replace(",", "\\,")
                .replace("\r", "\\r").replace("\n", "\\n"))
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "DOUBLE":
        return "NaN" if value == "NaN" else java_double(value)
    if kind == "FLOAT":
        return java_float(value)
    return str(value)


def export_time(ms):
    moment = dt.datetime.fromtimestamp(ms // 1000, EXPORT_ZONE).replace(microsecond=ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds")  # 2024-02-29T20:00:00.000+08:00


def write_export(directory, devices, state):
    os.makedirs(directory, exist_ok=True)
    for name in sorted(os.listdir(directory)):
        if name.startswith("dump") and name.endswith(".csv"):
            os.remove(os.path.join(directory, name))
    columns = [(d.n, m) for d in devices for m, _ in MEASUREMENTS]
    index = {c: i for i, c in enumerate(columns)}
    header = "Time," + ",".join("%s(%s)" % (series_path(n, m), TYPES[m]) for n, m in columns)
    by_time = {}
    for (n, m, t), v in state.items():
        by_time.setdefault(t, {})[index[(n, m)]] = csv_cell(m, v)
    times = sorted(by_time)
    for f in range(0, max(1, math.ceil(len(times) / LINES_PER_FILE))):
        lines = [header]
        for t in times[f * LINES_PER_FILE:(f + 1) * LINES_PER_FILE]:
            cells = by_time[t]
            lines.append(export_time(t) + "," + ",".join(cells.get(i, "") for i in range(len(columns))))
        with open(os.path.join(directory, "dump0_%d.csv" % f), "w", encoding="utf-8",
                  newline="") as out:
            out.write("\r\n".join(lines) + "\r\n")
    return len(times), max(1, math.ceil(len(times) / LINES_PER_FILE))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=20)
    p.add_argument("--hours", type=int, default=24)
    p.add_argument("--every-seconds", type=int, default=60)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="directory for standin.json and export/")
    a = p.parse_args()
    if a.devices < 1 or a.hours < 1 or not 1 <= a.every_seconds <= 3600:
        p.error("--devices and --hours must be positive, --every-seconds 1..3600")

    devices, points, late = generate(a)
    state = {}  # (device, measurement, time) -> value; the later write wins
    duplicates = 0
    for t, n, m, v in points:
        duplicates += (n, m, t) in state
        state[(n, m, t)] = v
    os.makedirs(a.out, exist_ok=True)
    write_standin(os.path.join(a.out, "standin.json"), devices, points)
    rows, files = write_export(os.path.join(a.out, "export"), devices, state)
    last = max(t for t, _, _, _ in points) if points else START_MS
    print("iotflow: %d devices, %d series, %d points written, %d distinct (%d duplicates: "
          "the later write wins), %d late points; %s .. %s; export: %d rows in %d files"
          % (len(devices), len(devices) * len(MEASUREMENTS), len(points), len(state), duplicates,
             late, START.isoformat().replace("+00:00", "Z"),
             dt.datetime.fromtimestamp(last / 1000, dt.timezone.utc).isoformat(
                 timespec="milliseconds").replace("+00:00", "Z"), rows, files),
          file=sys.stderr)


if __name__ == "__main__":
    main()
