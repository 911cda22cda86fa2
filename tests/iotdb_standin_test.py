#!/usr/bin/python3
"""Self-test of tests/iotdb_standin.py, the IoTDB REST v2 stand-in.

Starts the stand-in on a free port with a small data file and checks the
shapes recorded in the project's IoTDB research notes. Run it with
/usr/bin/python3 tests/iotdb_standin_test.py (standard library only).
"""

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "iotdb_standin.py")
DEV = "root.iotflow.devices.d1"
BIG = 2 ** 53 + 1

DATA = {
    "series": [
        {"path": DEV + ".temperature", "type": "DOUBLE"},
        {"path": DEV + ".count", "type": "INT64"},
        {"path": DEV + ".flag", "type": "BOOLEAN"},
        {"path": DEV + ".payload", "type": "BLOB"},
        {"path": DEV + ".day", "type": "DATE"},
        {"path": DEV + ".ratio", "type": "FLOAT"},
        {"path": DEV + ".label", "type": "TEXT"},
        {"path": "root.iotflow.devices.d2.temperature", "type": "DOUBLE"},
        {"path": "root.iotflow.devices.`d.3`.s1", "type": "INT32"},
    ],
    "points": [
        {"path": DEV + ".temperature", "time": 1000, "value": 21.5},
        {"path": DEV + ".temperature", "time": 2000, "value": 22.0},
        {"path": DEV + ".temperature", "time": 3000, "value": "NaN"},
        {"path": DEV + ".count", "time": 1000, "value": BIG},
        {"path": DEV + ".count", "time": 3000,
         "value": 9223372036854775807},
        {"path": DEV + ".flag", "time": 2000, "value": True},
        {"path": DEV + ".payload", "time": 1000, "value": "0xCAFEBABE"},
        {"path": DEV + ".day", "time": 1000, "value": "2025-07-14"},
        {"path": DEV + ".ratio", "time": 1000, "value": 1.41},
        {"path": DEV + ".label", "time": 2000, "value": "h\u00e9llo"},
        {"path": "root.iotflow.devices.d2.temperature", "time": 1500,
         "value": 1.2345678e7},
        {"path": "root.iotflow.devices.`d.3`.s1", "time": 5, "value": 7},
    ],
}

AUTH = "Basic " + base64.b64encode(b"root:root").decode()


def start_standin(data_file, *extra):
    """Starts the stand-in on a free port; (process, port)."""
    port_file = tempfile.mktemp(prefix="standin-port-")
    process = subprocess.Popen(
        [sys.executable, STANDIN, "--port", "0", "--data", data_file,
         "--port-file", port_file] + list(extra),
        stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while not os.path.exists(port_file):
        if time.time() > deadline or process.poll() is not None:
            raise RuntimeError("stand-in did not start")
        time.sleep(0.02)
    with open(port_file) as handle:
        port = int(handle.read())
    os.unlink(port_file)
    line = process.stdout.readline().strip()
    assert line == "iotdb stand-in listening on http://127.0.0.1:%d" % port, line
    return process, port


class StandInTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.data_file = os.path.join(cls.tmp.name, "data.json")
        with open(cls.data_file, "w") as handle:
            json.dump(DATA, handle)
        cls.process, cls.port = start_standin(cls.data_file)

    @classmethod
    def tearDownClass(cls):
        cls.process.send_signal(signal.SIGTERM)
        assert cls.process.wait(timeout=10) == 0
        cls.process.stdout.close()
        cls.tmp.cleanup()

    # -- helpers
    def request(self, method, path, body=None, auth=AUTH, port=None):
        """(HTTP status, parsed JSON, raw text)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (port or self.port, path), data=data,
            method=method, headers={"Content-Type": "application/json"})
        if auth is not None:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=10) as response:
                raw = response.read().decode()
                return response.status, json.loads(raw), raw
        except urllib.error.HTTPError as error:
            raw = error.read().decode()
            return error.code, (json.loads(raw) if raw else None), raw

    def query(self, sql, row_limit=None, port=None):
        body = {"sql": sql}
        if row_limit is not None:
            body["row_limit"] = row_limit
        status, answer, raw = self.request("POST", "/rest/v2/query", body,
                                           port=port)
        self.assertEqual(status, 200)
        return answer, raw

    def non_query(self, sql):
        status, answer, _ = self.request("POST", "/rest/v2/nonQuery",
                                         {"sql": sql})
        self.assertEqual(status, 200)
        return answer

    def tablet(self, body):
        status, answer, _ = self.request("POST", "/rest/v2/insertTablet",
                                         body)
        self.assertEqual(status, 200)
        return answer

    # -- ping and auth
    def test_ping_needs_no_auth(self):
        self.assertEqual(self.request("GET", "/ping", auth=None)[:2],
                         (200, {"code": 200, "message": "SUCCESS_STATUS"}))

    def test_auth_failures(self):
        body = {"sql": "show timeseries"}
        self.assertEqual(
            self.request("POST", "/rest/v2/query", body, auth=None)[:2],
            (401, {"code": 800, "message": "INIT_AUTH_ERROR"}))
        wrong = "Basic " + base64.b64encode(b"root:nope").decode()
        self.assertEqual(
            self.request("POST", "/rest/v2/query", body, auth=wrong)[:2],
            (401, {"code": 801, "message": "WRONG_LOGIN_PASSWORD"}))
        for bad in (b"root", b"root:root:x", b"root:"):
            header = "Basic " + base64.b64encode(bad).decode()
            self.assertEqual(
                self.request("POST", "/rest/v2/query", body,
                             auth=header)[:2],
                (400, {"code": 303,
                       "message": "Illegal format of authorization header."}))

    def test_bare_base64_and_lowercase_header(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                timeout=10)
        connection.putrequest("POST", "/rest/v2/query")
        payload = json.dumps({"sql": "count timeseries"}).encode()
        connection.putheader("authorization",
                             base64.b64encode(b"root:root").decode())
        connection.putheader("content-type", "application/json")
        connection.putheader("content-length", str(len(payload)))
        connection.endheaders(payload)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        answer = json.loads(response.read())
        self.assertEqual(answer["column_names"], ["count(timeseries)"])
        connection.close()

    def test_unknown_path_is_404(self):
        self.assertEqual(self.request("POST", "/rest/v2/nope", {})[0], 404)

    # -- metadata
    def test_show_timeseries_shape_and_paging(self):
        answer, _ = self.query("SHOW TIMESERIES root.iotflow.devices.d1.*")
        self.assertIsNone(answer["expressions"])
        self.assertIsNone(answer["timestamps"])
        self.assertEqual(answer["column_names"], [
            "Timeseries", "Alias", "Database", "DataType", "Encoding",
            "Compression", "Tags", "Attributes", "Deadband",
            "DeadbandParameters", "ViewType"])
        self.assertEqual(answer["data_types"], ["TEXT"] * 11)
        names = answer["values"][0]
        self.assertEqual(names, sorted(names))
        self.assertEqual(len(names), 7)
        row = names.index(DEV + ".count")
        self.assertEqual(answer["values"][3][row], "INT64")
        self.assertEqual(answer["values"][2][row], "root.iotflow")
        self.assertIsNone(answer["values"][1][row])
        self.assertEqual(answer["values"][10][row], "BASE")

        page, _ = self.query("show timeseries root.** limit 2 offset 1")
        everything, _ = self.query("show timeseries root.**")
        self.assertEqual(page["values"][0], everything["values"][0][1:3])
        self.assertIn("root.iotflow.devices.`d.3`.s1",
                      everything["values"][0])
        # the row limit applies to metadata too
        self.assertEqual(self.query("show timeseries root.** limit 3",
                                    row_limit=3)[0]["code"], 708)
        self.assertEqual(len(self.query("show timeseries root.** limit 2",
                                        row_limit=3)[0]["values"][0]), 2)

    def test_show_devices(self):
        answer, _ = self.query("show devices root.iotflow.**")
        self.assertEqual(answer["column_names"],
                         ["Device", "IsAligned", "Template", "TTL(ms)"])
        self.assertIn(DEV, answer["values"][0])
        self.assertEqual(set(answer["values"][1]), {"false"})
        self.assertEqual(set(answer["values"][2]), {None})
        self.assertEqual(set(answer["values"][3]), {"INF"})

    def test_empty_metadata(self):
        answer, _ = self.query("show timeseries root.nothing.**")
        self.assertEqual(answer["values"], [])
        self.assertEqual(len(answer["column_names"]), 11)

    # -- raw queries
    def test_select_star_column_major_with_nulls(self):
        answer, raw = self.query("select * from " + DEV)
        self.assertIsNone(answer["column_names"])
        self.assertEqual(answer["expressions"], sorted(answer["expressions"]))
        self.assertEqual(answer["timestamps"], [1000, 2000, 3000])
        columns = dict(zip(answer["expressions"], answer["values"]))
        types = dict(zip(answer["expressions"], answer["data_types"]))
        self.assertEqual(columns[DEV + ".temperature"], [21.5, 22.0, "NaN"])
        self.assertEqual(columns[DEV + ".flag"], [None, True, None])
        self.assertEqual(columns[DEV + ".count"],
                         [BIG, None, 9223372036854775807])
        self.assertIn("9007199254740993", raw)
        self.assertEqual(columns[DEV + ".payload"], ["0xcafebabe", None,
                                                     None])
        self.assertEqual(columns[DEV + ".day"], ["2025-07-14", None, None])
        self.assertEqual(columns[DEV + ".label"], [None, "h\u00e9llo", None])
        self.assertEqual(types[DEV + ".ratio"], "FLOAT")
        self.assertIn("1.41", raw)
        self.assertNotIn("1.4099", raw)
        self.assertEqual(types[DEV + ".day"], "DATE")

    def test_select_where_order_limit(self):
        answer, _ = self.query(
            "SELECT temperature, `flag` FROM root.iotflow.devices.d1 "
            "WHERE time > 1000 AND time <= 3000 ORDER BY TIME DESC LIMIT 1")
        self.assertEqual(answer["expressions"],
                         [DEV + ".temperature", DEV + ".flag"])
        self.assertEqual(answer["data_types"], ["DOUBLE", "BOOLEAN"])
        self.assertEqual(answer["timestamps"], [3000])
        self.assertEqual(answer["values"], [["NaN"], [None]])
        answer, _ = self.query("select flag from " + DEV +
                               " where time >= 1000 limit 5 offset 0")
        self.assertEqual(answer["timestamps"], [2000])
        answer, _ = self.query("select temperature from " + DEV +
                               " where time < 2000")
        self.assertEqual(answer["values"], [[21.5]])

    def test_java_double_text(self):
        _, raw = self.query("select temperature from "
                            "root.iotflow.devices.d2")
        self.assertIn("[[1.2345678E7]]", raw)

    def test_backquoted_device(self):
        answer, _ = self.query("select s1 from root.iotflow.devices.`d.3`")
        self.assertEqual(answer["expressions"],
                         ["root.iotflow.devices.`d.3`.s1"])
        self.assertEqual(answer["values"], [[7]])

    def test_empty_result_shape(self):
        answer, _ = self.query("select temperature, count from " + DEV +
                               " where time > 999999")
        self.assertEqual(answer["timestamps"], [])
        self.assertEqual(answer["values"], [])
        self.assertEqual(answer["expressions"],
                         [DEV + ".temperature", DEV + ".count"])
        self.assertEqual(answer["data_types"], ["DOUBLE", "INT64"])

    def test_row_limit_quirk(self):
        sql = "select temperature from " + DEV
        self.assertEqual(self.query(sql, row_limit=3)[0], {
            "code": 708,
            "message": "Dataset row size exceeded the given max row size (3)"})
        self.assertEqual(self.query(sql, row_limit=4)[0]["timestamps"],
                         [1000, 2000, 3000])
        self.assertEqual(
            self.query(sql + " limit 2", row_limit=3)[0]["timestamps"],
            [1000, 2000])
        self.assertEqual(self.query(sql, row_limit=0)[0], {
            "code": 305, "message": "row_limit should be positive"})

    def test_server_row_limit_caps_request(self):
        process, port = start_standin(self.data_file, "--row-limit", "3")
        try:
            answer, _ = self.query("select temperature from " + DEV,
                                   row_limit=100, port=port)
            self.assertEqual(answer["code"], 708)
            self.assertIn("(3)", answer["message"])
        finally:
            process.send_signal(signal.SIGTERM)
            self.assertEqual(process.wait(timeout=10), 0)
            process.stdout.close()

    def test_select_last_and_align_by_device(self):
        answer, _ = self.query("select last temperature from " + DEV)
        self.assertEqual(answer["expressions"],
                         ["Timeseries", "Value", "DataType"])
        self.assertEqual(answer["timestamps"], [3000])
        self.assertEqual(answer["values"],
                         [[DEV + ".temperature"], ["NaN"], ["DOUBLE"]])
        answer, _ = self.query("select temperature from "
                               "root.iotflow.devices.* align by device")
        self.assertEqual(answer["expressions"], ["Device", "temperature"])
        self.assertEqual(answer["values"][0],
                         [DEV, DEV, DEV, "root.iotflow.devices.d2"])
        self.assertEqual(answer["timestamps"], [1000, 2000, 3000, 1500])

    def test_statement_errors(self):
        status, answer, _ = self.request("POST", "/rest/v2/query", {})
        self.assertEqual(answer, {"code": 305,
                                  "message": "sql should not be null"})
        self.assertEqual(self.query("insert into root.a.b(time,s) "
                                    "values(1,1)")[0],
                         {"code": 301, "message": "EXECUTE_STATEMENT_ERROR"})
        self.assertEqual(self.non_query("select * from " + DEV),
                         {"code": 301, "message": "EXECUTE_STATEMENT_ERROR"})
        self.assertEqual(self.query("frobnicate everything")[0]["code"], 700)
        self.assertEqual(self.query("select s1 + 1 from " + DEV)[0]["code"],
                         700)

    # -- writes
    def test_insert_tablet(self):
        device = "root.iotflow.devices.tab"
        self.assertEqual(self.tablet({
            "timestamps": [20, 10], "measurements": ["b", "d", "i", "f"],
            "data_types": ["blob", "DATE", "INT32", "FLOAT"],
            "values": [["0xcafe", "x"], [20250714, None], [5, 6],
                       ["NaN", 2.5]],
            "is_aligned": False, "device": device}),
            {"code": 200, "message": "SUCCESS_STATUS"})
        answer, _ = self.query("select b, d, i, f from " + device)
        self.assertEqual(answer["timestamps"], [10, 20])
        self.assertEqual(answer["data_types"],
                         ["BLOB", "DATE", "INT32", "FLOAT"])
        # the BLOB is stored as the ASCII bytes of "0xcafe", not decoded
        self.assertEqual(answer["values"],
                         [["0x78", "0x" + b"0xcafe".hex()],
                          [None, "2025-07-14"], [6, 5], [2.5, "NaN"]])
        # a point overwrites the point of the same series and time
        self.tablet({"timestamps": [10], "measurements": ["i"],
                     "data_types": ["INT32"], "values": [[60]],
                     "is_aligned": False, "device": device})
        answer, _ = self.query("select i from " + device)
        self.assertEqual(answer["values"], [[60, 5]])

    def test_insert_tablet_rejections(self):
        base = {"timestamps": [1], "measurements": ["v"],
                "data_types": ["INT32"], "values": [[2 ** 31]],
                "is_aligned": False, "device": "root.iotflow.devices.rej"}
        self.assertEqual(self.tablet(base), {
            "code": 606,
            "message": "unsupported data type: class java.lang.Long"})
        self.assertEqual(self.tablet(dict(base, values=[[1.5]]))["code"], 606)
        self.assertEqual(self.tablet(dict(base, data_types=["DATE"],
                                          values=[["2025-07-14"]])), {
            "code": 606,
            "message": "unsupported data type: class java.lang.String"})
        self.assertEqual(self.tablet(dict(base, data_types=["INT64"],
                                          values=[[2 ** 63]]))["code"], 606)
        self.assertEqual(self.tablet(dict(base, data_types=["WEIRD"]))[
            "message"],
            "The WEIRD data type of root.iotflow.devices.rej.v is illegal")
        missing = dict(base)
        del missing["timestamps"]
        self.assertEqual(self.tablet(missing), {
            "code": 305, "message": "timestamps should not be null"})
        self.assertEqual(self.tablet(dict(base, values=[[1]],
                                          timestamps=[10 ** 14]))["code"], 701)
        answer, _ = self.query("show timeseries root.iotflow.devices.rej.*")
        self.assertEqual(answer["values"], [])

    def test_non_query_insert_create_delete(self):
        device = "root.iotflow.devices.sql"
        self.assertEqual(self.non_query(
            "CREATE TIMESERIES %s.day WITH DATATYPE=DATE, ENCODING=PLAIN"
            % device), {"code": 200, "message": "SUCCESS_STATUS"})
        self.assertEqual(self.non_query(
            "insert into %s(time, blob, day, note, n) values"
            "(1, X'00ff', '2025-07-14', 'it''s', 3), (2, null, null, \"q\", 4)"
            % device)["code"], 200)
        answer, _ = self.query("select blob, day, note, n from " + device)
        self.assertEqual(answer["data_types"],
                         ["BLOB", "DATE", "TEXT", "DOUBLE"])
        self.assertEqual(answer["values"],
                         [["0x00ff", None], ["2025-07-14", None],
                          ["it's", "q"], [3.0, 4.0]])
        self.assertEqual(self.non_query(
            "insert into %s(time, day) values(3, 'not a date')"
            % device)["code"], 614)
        self.assertEqual(self.non_query(
            "delete from %s.note where time <= 1" % device)["code"], 200)
        answer, _ = self.query("select note from " + device)
        self.assertEqual(answer["timestamps"], [2])

    def test_dump_and_points(self):
        status, answer, _ = self.request("POST", "/standin/points", {
            "points": [{"path": "root.iotflow.devices.dump.s", "time": 7,
                        "value": 1.5}],
            "series": [{"path": "root.iotflow.devices.dump.s",
                        "type": "FLOAT"}]}, auth=None)
        self.assertEqual(status, 200)
        status, dump, raw = self.request("GET", "/standin/dump", auth=None)
        self.assertEqual(status, 200)
        self.assertIn({"path": "root.iotflow.devices.dump.s", "type": "FLOAT"},
                      dump["series"])
        self.assertIn({"path": "root.iotflow.devices.dump.s", "time": 7,
                       "value": 1.5}, dump["points"])
        self.assertIn({"path": DEV + ".payload", "time": 1000,
                       "value": "0xcafebabe"}, dump["points"])
        self.assertIn({"path": DEV + ".temperature", "time": 3000,
                       "value": "NaN"}, dump["points"])
        self.assertIn({"path": DEV + ".count", "time": 1000, "value": BIG},
                      dump["points"])
        keys = [(p["path"], p["time"]) for p in dump["points"]]
        self.assertEqual(len(keys), len(set(keys)))

    def test_fail_injection_and_log(self):
        self.request("POST", "/standin/log/clear", {}, auth=None)
        self.request("POST", "/standin/fail", {"next": 2, "http": 500},
                     auth=None)
        sql = "select flag from " + DEV
        for _ in range(2):
            status, answer, _ = self.request("POST", "/rest/v2/query",
                                             {"sql": sql})
            self.assertEqual((status, answer),
                             (500, {"code": 500, "message": "injected"}))
        self.assertEqual(self.query(sql)[0]["timestamps"], [2000])
        self.request("POST", "/standin/fail", {"next": 1, "code": 301},
                     auth=None)
        self.assertEqual(self.query(sql)[0]["code"], 301)
        self.assertEqual(self.query(sql)[0]["timestamps"], [2000])
        status, log, _ = self.request("GET", "/standin/log", auth=None)
        self.assertEqual([entry["sql"] for entry in log], [sql] * 5)
        self.assertEqual([entry["http"] for entry in log],
                         [500, 500, 200, 200, 200])


if __name__ == "__main__":
    unittest.main(verbosity=2)
