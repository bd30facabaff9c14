"""Runs the same commands against the module and the Lua library and compares the two.

Starts two redis-server processes on free loopback ports: one with the module loaded
(`debug-clock yes`), one without it and with lua/gpool.lua loaded by FUNCTION LOAD (through
lua/configure.sh, with the same options). Every `GPOOL.X <pool> ...` goes to the first as
is and to the second as `FCALL gpool_x 1 <pool> ...` (FCALL_RO for USAGE and STATUS,
`FCALL gpool_debug 0 ...` for DEBUG). After each command the replies must be equal (maps
as sets of pairs: the library cannot choose the order of a map's fields) and so must every
gpool:* key, its type, value and time to live.

A fixed scenario covers every command and every error text, over RESP2 and RESP3; another
plants what only a hand-edited pool holds (keys of every other type, odd stored numbers,
runs out of step); another loses the `meta` hash while the ring stays; another calls as a
user whose ACL does not cover the pool's keys (the library must answer Redis's ACL error,
not WRONGTYPE; the module, which opens keys without ACL checks, is shown, not compared);
then random operations (with the clock moved across days and daylight-saving changes)
check rotation, runs and expiry against each other.

Usage: python3 compare.py <libgpool.so> [<rounds of random operations>]
(GPOOL_CASES: the folder of shared provider answers, shared/cases/provider-errors beside the
repository by default.)
Prints each difference, then '<n> passed, <m> failed'; exits 1 on any difference.
"""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGURE = os.path.join(HERE, "..", "configure.sh")


class ServerError(Exception):
    pass


class Connection:
    """A minimal RESP2/RESP3 client; replies are parsed into comparable tuples."""

    def __init__(self, port, resp3=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        if resp3:
            self.call("HELLO", "3")

    def call(self, *words):
        out = [b"*%d\r\n" % len(words)]
        for w in words:
            w = w if isinstance(w, bytes) else str(w).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(w), w))
        self.sock.sendall(b"".join(out))
        return self.read()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ServerError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ServerError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return ("status", rest.decode())
        if kind == b"-":
            return ("error", rest.decode(errors="replace"))
        if kind == b":":
            return ("int", int(rest))
        if kind == b"_":
            return ("nil",)
        if kind in (b"$", b"="):
            n = int(rest)
            return ("nil",) if n < 0 else ("bulk", self.exact(n))
        if kind in (b"*", b"~"):
            n = int(rest)
            return ("nil",) if n < 0 else ("array", tuple(self.read() for _ in range(n)))
        if kind == b"%":
            n = int(rest)
            return ("map", tuple((self.read(), self.read()) for _ in range(n)))
        if kind == b",":
            return ("double", rest.decode())
        if kind == b"#":
            return ("bool", rest == b"t")
        raise ServerError("unexpected reply type %r" % line)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One redis-server child in a directory of its own; stopped by stop()."""

    def __init__(self, extra_args):
        self.dir = tempfile.mkdtemp(prefix="gpool-compare-")
        self.port = free_port()
        log = open(os.path.join(self.dir, "redis.log"), "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.dir] + extra_args,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 10
        while True:
            try:
                if Connection(self.port).call("PING") == ("status", "PONG"):
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise ServerError("redis-server did not start: "
                                  + open(os.path.join(self.dir, "redis.log")).read()[-2000:])
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_pair(module, options):
    """A server with the module and one with the library, both loaded with `options`."""
    with_module = Server(["--loadmodule", module] + options)
    with_lua = Server([])
    library = subprocess.run([CONFIGURE] + options, check=True, capture_output=True).stdout
    loaded = Connection(with_lua.port).call("FUNCTION", "LOAD", "REPLACE", library)
    if loaded != ("bulk", b"gpool"):
        with_module.stop()
        with_lua.stop()
        raise ServerError("FUNCTION LOAD failed: %r" % (loaded,))
    return with_module, with_lua


READ_ONLY = {"usage", "status", "pinned"}


def as_fcall(words):
    """GPOOL.X <pool> ... as the FCALL that the library answers in its place."""
    name = words[0].lower().split(".", 1)[1]
    args = list(words[1:])
    if name == "debug":
        return ["FCALL", "gpool_debug", "0"] + args
    verb = "FCALL_RO" if name in READ_ONLY else "FCALL"
    return [verb, "gpool_" + name, "1" if args else "0"] + args


def normal(reply):
    """A reply with map fields in sorted order, so that maps compare as sets of pairs."""
    kind = reply[0]
    if kind == "map":
        return ("map", tuple(sorted((normal(k), normal(v)) for k, v in reply[1])))
    if kind == "array":
        return ("array", tuple(normal(x) for x in reply[1]))
    return reply


def flat_pairs(reply, depth):
    """A RESP2 map reply (flat arrays, nested `depth` levels) with its pairs sorted."""
    if depth == 0 or reply[0] != "array":
        return reply
    items = reply[1]
    pairs = [(items[i], flat_pairs(items[i + 1], depth - 1)) for i in range(0, len(items), 2)]
    return ("array", tuple(x for pair in sorted(pairs) for x in pair))


def map_depth(words):
    """How many levels of a reply are maps: STATUS 3, USAGE without keys 1, else 0."""
    name = words[0].lower()
    if name == "gpool.status" and len(words) == 2:
        return 3
    if name == "gpool.usage" and len(words) == 2:
        return 1
    return 0


def dump(conn):
    """Every gpool:* key with its type, value and time to live."""
    names = []
    cursor = b"0"
    while True:
        reply = conn.call("SCAN", cursor, "MATCH", "gpool:*", "COUNT", "1000")
        cursor = reply[1][0][1]
        names.extend(x[1] for x in reply[1][1][1])
        if cursor == b"0":
            break
    out = {}
    for name in sorted(set(names)):
        kind = conn.call("TYPE", name)[1]
        if kind == "none":
            continue  # expired since SCAN
        if kind == "hash":
            reply = conn.call("HGETALL", name)
            items = reply[1]
            if reply[0] == "map":
                value = tuple(sorted(items))
            else:
                value = tuple(sorted((items[i], items[i + 1]) for i in range(0, len(items), 2)))
        elif kind == "zset":
            value = conn.call("ZRANGE", name, "0", "-1", "WITHSCORES")
        else:
            value = conn.call("DUMP", name)
        out[name] = (kind, value, conn.call("TTL", name))
    return out


def same_keys(a, b):
    """Whether two dumps hold the same keys, types and values, and times to live that
    differ by at most a second (real time passes between the two servers' writes). A key
    that one server holds with at most two seconds to live may have expired on the other:
    keys expire in real time, however the test clock was pinned when they were written."""
    for name in set(a) | set(b):
        if a.get(name) is None or b.get(name) is None:
            present = a.get(name) or b.get(name)
            if present is not None and not 0 <= present[2][1] <= 2:
                return False
            continue
        (kind_a, value_a, ttl_a), (kind_b, value_b, ttl_b) = a[name], b[name]
        if kind_a != kind_b or value_a != value_b:
            return False
        ttl_a, ttl_b = ttl_a[1], ttl_b[1]
        if (ttl_a < 0 or ttl_b < 0) and ttl_a != ttl_b:
            return False
        if abs(ttl_a - ttl_b) > 1:
            return False
    return True


class Comparison:
    def __init__(self, module, options, resp3=False):
        self.options = options
        self.servers = start_pair(module, options)
        self.module = Connection(self.servers[0].port, resp3)
        self.lua = Connection(self.servers[1].port, resp3)
        self.resp3 = resp3
        self.passed = 0
        self.failed = 0

    def stop(self):
        for s in self.servers:
            s.stop()

    def fail(self, text):
        self.failed += 1
        if self.failed <= 30:
            print(text)

    def run(self, *words, expect=None):
        """Runs one command on both servers; compares replies, then every pool key."""
        words = [w if isinstance(w, bytes) else str(w) for w in words]
        a = self.module.call(*words)
        b = self.lua.call(*as_fcall(words))
        shown = " ".join(w.decode(errors="replace") if isinstance(w, bytes) else w
                         for w in words)
        where = "[%s%s] %s" % (" ".join(self.options), " resp3" if self.resp3 else "", shown)
        depth = map_depth(words)
        if self.resp3:
            same = normal(a) == normal(b)
        else:
            same = flat_pairs(a, depth) == flat_pairs(b, depth)
        if not same:
            self.fail("%s:\n  module: %r\n  lua:    %r" % (where, a, b))
        elif expect is not None and a != expect and normal(a) != normal(expect):
            self.fail("%s:\n  both:   %r\n  wanted: %r" % (where, a, expect))
        else:
            self.passed += 1
        self.compare_keys(where)
        return a

    def run_near(self, *words):
        """Runs one command on both servers, like run, where the reply holds counts that may
        be above 2^53. The library replies those through doubles (count_reply in gpool.lua):
        each of its integers must have the sign of the module's and lie within 1023 of it,
        and everything else must be equal. The pool keys must be equal, as always."""
        words = [str(w) for w in words]
        a = self.module.call(*words)
        b = self.lua.call(*as_fcall(words))
        where = "[%s%s] %s (within 1023)" % (" ".join(self.options),
                                              " resp3" if self.resp3 else "", " ".join(words))
        depth = map_depth(words)
        if self.resp3:
            same = near(normal(a), normal(b))
        else:
            same = near(flat_pairs(a, depth), flat_pairs(b, depth))
        if same:
            self.passed += 1
        else:
            self.fail("%s:\n  module: %r\n  lua:    %r" % (where, a, b))
        self.compare_keys(where)
        return a

    def compare_keys(self, where):
        """Compares every gpool:* key of the two servers, after the command `where` names."""
        da, db = dump(self.module), dump(self.lua)
        if not same_keys(da, db):
            lines = []
            for name in sorted(set(da) | set(db)):
                one_a = {name: da[name]} if name in da else {}
                one_b = {name: db[name]} if name in db else {}
                if not same_keys(one_a, one_b):
                    lines.append("  %s\n    module: %r\n    lua:    %r"
                                 % (name, da.get(name), db.get(name)))
            self.fail("%s: keys differ after it:\n%s" % (where, "\n".join(lines)))
        else:
            self.passed += 1

    def raw(self, *words):
        """Runs a plain Redis command on both servers, e.g. to plant a key of a wrong type."""
        self.module.call(*words)
        self.lua.call(*words)


def near(a, b):
    """Whether reply b is reply a but for integers that have a's sign and lie within 1023 of
    a's (maps compared after normal or flat_pairs has put their fields in order)."""
    if a[0] != b[0]:
        return False
    if a[0] == "int":
        return (a[1] > 0) == (b[1] > 0) and (a[1] < 0) == (b[1] < 0) \
            and abs(a[1] - b[1]) < 1024
    if a[0] == "array":
        return len(a[1]) == len(b[1]) and all(near(x, y) for x, y in zip(a[1], b[1]))
    if a[0] == "map":
        return len(a[1]) == len(b[1]) and all(
            near(ka, kb) and near(va, vb) for (ka, va), (kb, vb) in zip(a[1], b[1]))
    return a == b


def err(text):
    return ("error", text)


def arity(name):
    return err("ERR wrong number of arguments for '%s' command" % name)


POOL_RULE = "use 1 to 128 letters, digits, '_', '-', '.', ':'"
WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value")


def scenario(c):
    """Every command and every documented error, in a pool of five keys."""
    day = 1773561600  # 2026-03-15 01:00 PDT
    c.run("GPOOL.DEBUG", "CLOCK", day, expect=("status", "OK"))

    for name, words in [
        ("gpool.add", ["p"]), ("gpool.remove", ["p"]), ("gpool.next", ["p"]),
        ("gpool.next", ["p", "a", "b"]), ("gpool.spend", ["p", "k"]),
        ("gpool.restore", ["p", "k", "c", "d"]), ("gpool.record", ["p"]),
        ("gpool.record", ["p", "k", "1", "2"]), ("gpool.usage", []),
        ("gpool.status", []), ("gpool.status", ["p", "q"]), ("gpool.debug", ["CLOCK"]),
        ("gpool.debug", ["CLOCK", "1", "2"]), ("gpool.next", []),
    ]:
        c.run(name.upper(), *words, expect=arity(name))

    long_name = "x" * 30 + " " + "y" * 10
    for bad in ["", "a b", "a{b}", "it's", "back\\slash", b"\x00\xff", long_name,
                "é".encode(), "a" * 129]:
        c.run("GPOOL.NEXT", bad, "embed",
              expect=err("ERR invalid pool name '%s': %s" % (shown(bad), POOL_RULE)))
        c.run("GPOOL.NEXT", "p", bad,
              expect=err("ERR invalid class name '%s': %s" % (shown(bad), POOL_RULE)))
        c.run("GPOOL.STATUS", bad)
        c.run("GPOOL.SPEND", "p", "k-0001", bad)
    c.run("GPOOL.NEXT", "a b", "c d")  # the pool is checked first

    key_rule = "use 1 to 512 printable characters without spaces"
    for bad in ["", "with space", "tab\t", "\x7f", "k" * 513]:
        c.run("GPOOL.ADD", "p", "k-0001", bad,
              expect=err("ERR invalid api key at argument 3: " + key_rule))
        c.run("GPOOL.REMOVE", "p", bad, expect=err("ERR invalid api key at argument 2: " + key_rule))
        c.run("GPOOL.SPEND", "p", bad, "bad class")
        c.run("GPOOL.RESTORE", "p", bad, "embed")
        c.run("GPOOL.RECORD", "p", bad, "0")
        c.run("GPOOL.USAGE", "p", "k-0001", "k-0002", bad,
              expect=err("ERR invalid api key at argument 4: " + key_rule))
    c.run("GPOOL.ADD", "bad pool", "bad key")

    c.run("GPOOL.ADD", "p", "k-0001", "k-0002", "k-0003", "k-0002", "k-0004",
          "test-key-0005-abcdefgh", expect=("int", 5))
    c.run("GPOOL.ADD", "p", "k-0001", expect=("int", 0))
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.STATUS", "empty")
    c.run("GPOOL.USAGE", "p")
    c.run("GPOOL.USAGE", "empty")
    c.run("GPOOL.NEXT", "empty", "embed", expect=("nil",))

    for bad in ["0", "1000000001", "-1", "+1", "1.5", "1e3", " 1", "0x10", "", "9" * 40,
                "it's"]:
        c.run("GPOOL.RECORD", "p", "k-0001", bad,
              expect=err("ERR invalid count '%s': use a whole number from 1 to 1000000000"
                         % shown(bad)))
    c.run("GPOOL.RECORD", "p", "k-0001", expect=("int", 1))
    c.run("GPOOL.RECORD", "p", "k-0001", "1000000000", expect=("int", 1000000001))
    c.run("GPOOL.RECORD", "p", "k-0002", "007", expect=("int", 7))
    c.run("GPOOL.RECORD", "p", "not-a-member",
          expect=err("ERR api key ...member is not in pool 'p'"))
    c.run("GPOOL.SPEND", "p", "ab", "embed", expect=err("ERR api key ...b is not in pool 'p'"))
    c.run("GPOOL.RESTORE", "p", "a", "embed", expect=err("ERR api key ... is not in pool 'p'"))

    for _ in range(7):
        c.run("GPOOL.NEXT", "p", "embed")
    c.run("GPOOL.NEXT", "p", "generate")
    c.run("GPOOL.SPEND", "p", "k-0002", "embed", expect=("int", 1))
    c.run("GPOOL.SPEND", "p", "k-0002", "embed", expect=("int", 0))
    c.run("GPOOL.SPEND", "p", "k-0004", "embed", expect=("int", 1))
    c.run("GPOOL.SPEND", "p", "k-0003", "embed", expect=("int", 1))
    c.run("GPOOL.SPEND", "p", "k-0001", "chat", expect=("int", 1))
    c.run("GPOOL.STATUS", "p")
    for _ in range(4):
        c.run("GPOOL.NEXT", "p", "embed")
    c.run("GPOOL.RESTORE", "p", "k-0003", "embed", expect=("int", 1))
    c.run("GPOOL.RESTORE", "p", "k-0003", "embed", expect=("int", 0))
    c.run("GPOOL.RESTORE", "p", "k-0003", "never-seen", expect=("int", 0))
    c.run("GPOOL.SPEND", "p", "test-key-0005-abcdefgh", "embed")
    c.run("GPOOL.SPEND", "p", "k-0001", "embed")
    c.run("GPOOL.SPEND", "p", "k-0003", "embed")
    c.run("GPOOL.NEXT", "p", "embed", expect=("nil",))
    c.run("GPOOL.USAGE", "p")
    c.run("GPOOL.USAGE", "p", "k-0001", "nothing-here", "k-0002")
    c.run("GPOOL.REMOVE", "p", "k-0003", "k-0003", "never-added", expect=("int", 1))
    c.run("GPOOL.REMOVE", "p", "k-0001", expect=("int", 1))
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.RESTORE", "p", "k-0004", "embed", expect=("int", 1))
    c.run("GPOOL.NEXT", "p", "embed")

    # A later time on the same day, then the next days, across the change back to
    # standard time.
    c.run("GPOOL.DEBUG", "CLOCK", day + 5000)
    c.run("GPOOL.RECORD", "p", "k-0004", "3")
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.DEBUG", "CLOCK", day + 86400)
    c.run("GPOOL.NEXT", "p", "embed")
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.DEBUG", "CLOCK", 1793520000)  # 2026-11-01 00:00 PDT, a 25-hour day
    c.run("GPOOL.SPEND", "p", "k-0004", "embed")
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.DEBUG", "CLOCK", 1793609999)  # its last second
    c.run("GPOOL.NEXT", "p", "embed")
    c.run("GPOOL.STATUS", "p")

    # Keys of the wrong type: every command refuses and changes nothing.
    c.raw("SET", "gpool:{w}:ring", "x")
    for words in [["GPOOL.ADD", "w", "k-0001"], ["GPOOL.REMOVE", "w", "k-0001"],
                  ["GPOOL.NEXT", "w", "embed"], ["GPOOL.SPEND", "w", "k-0001", "embed"],
                  ["GPOOL.RESTORE", "w", "k-0001", "embed"], ["GPOOL.RECORD", "w", "k-0001"],
                  ["GPOOL.USAGE", "w"], ["GPOOL.STATUS", "w"]]:
        c.run(*words, expect=WRONGTYPE)
    c.run("GPOOL.RECORD", "w", "k-0001", "0")  # a bad count is found before the type
    c.raw("DEL", "gpool:{w}:ring")
    c.run("GPOOL.ADD", "w", "k-0001", "k-0002")
    for planted in ["gpool:{w}:meta", "gpool:{w}:cursor"]:
        c.raw("SET", planted, "x")
        c.run("GPOOL.ADD", "w", "k-0003")
        c.run("GPOOL.NEXT", "w", "embed")
        c.run("GPOOL.SPEND", "w", "k-0001", "embed")
        c.run("GPOOL.STATUS", "w")
        c.run("GPOOL.REMOVE", "w", "k-0001")
        c.raw("DEL", planted)
    c.run("GPOOL.SPEND", "w", "k-0001", "embed")
    c.run("GPOOL.STATUS", "w")
    for suffix in ["usage:%s", "spent:embed:%s", "skip:embed:%s"]:
        today = day_label(c)
        planted = "gpool:{w}:" + suffix % today
        c.raw("RENAME", planted, planted + ":saved")
        c.raw("SET", planted, "x")
        for words in [["GPOOL.NEXT", "w", "embed"], ["GPOOL.SPEND", "w", "k-0002", "embed"],
                      ["GPOOL.RESTORE", "w", "k-0001", "embed"], ["GPOOL.RECORD", "w", "k-0001"],
                      ["GPOOL.USAGE", "w"], ["GPOOL.USAGE", "w", "k-0001"],
                      ["GPOOL.STATUS", "w"], ["GPOOL.REMOVE", "w", "k-0002"]]:
            c.run(*words)
        c.raw("DEL", planted)
        c.raw("RENAME", planted + ":saved", planted)

    c.run("GPOOL.DEBUG", "CLOCK", "REAL", expect=("status", "OK"))
    c.run("GPOOL.DEBUG", "clock", "real", expect=("status", "OK"))
    c.run("GPOOL.DEBUG", "CLOCK", "0", expect=("status", "OK"))
    c.run("GPOOL.DEBUG", "CLOCK", "253402300799", expect=("status", "OK"))
    # The clock's last second: already the year 10000 east of UTC, still the pool's last
    # day, 9999-12-31, which ends with the clock's range in every zone.
    c.run("GPOOL.STATUS", "p")
    c.run("GPOOL.NEXT", "p", "embed")
    c.run("GPOOL.RECORD", "p", "k-0004", "2")
    c.run("GPOOL.SPEND", "p", "k-0002", "embed")
    c.run("GPOOL.USAGE", "p")
    for bad in ["253402300800", "-1", "+5", "1.0", "now", "", "1" * 13, "really"]:
        c.run("GPOOL.DEBUG", "CLOCK", bad,
              expect=err("ERR invalid unix time '%s': use whole seconds from 0 to "
                         "253402300799, or REAL" % shown(bad)))
    for bad in ["TIME", "", "x" * 33]:
        c.run("GPOOL.DEBUG", bad, "1",
              expect=err("ERR unknown subcommand '%s': use GPOOL.DEBUG CLOCK "
                         "<unix-seconds>|REAL" % shown(bad)))
    c.run("GPOOL.DEBUG", "CLOCK", day)


# The shared provider answers sit beside the repository, in shared/cases/provider-errors.
CASES = os.path.join(HERE, "..", "..", "..", "shared", "cases", "provider-errors")


def provider_cases():
    """The shared provider answers: (name, class, status, body, outcome, seconds)."""
    import json
    here = os.environ.get("GPOOL_CASES", CASES)
    if not os.path.isdir(here):
        raise ServerError("no provider cases at %s: set GPOOL_CASES" % here)
    out = []
    for name in sorted(os.listdir(here)):
        if name.endswith(".json"):
            case = json.load(open(os.path.join(here, name)))
            expect = case["expect"]
            out.append((name, case.get("class", "embed"), case["status"], case["body"],
                        expect["outcome"], expect.get("seconds", 0)))
    return out


def penalties(c):
    """REPORT, PROJECT, pins, cooldowns and disabled keys, and how the older commands see
    them: every shared provider case, every new error text, a cooldown that ends and one
    that crosses midnight, a disabled key restored."""
    day = 1773561600  # 2026-03-15 01:00 PDT
    c.run("GPOOL.DEBUG", "CLOCK", day)
    c.run("GPOOL.ADD", "q", *["q-key-%04d" % i for i in range(12)])
    for name, words in [("gpool.report", ["q", "q-key-0001", "embed"]),
                        ("gpool.report", ["q", "q-key-0001", "embed", "429", "b", "x"]),
                        ("gpool.project", ["q", "proj"]), ("gpool.pin", ["q", "p"]),
                        ("gpool.pin", ["q", "p", "1", "2"]), ("gpool.unpin", ["q"]),
                        ("gpool.pinned", ["q", "p", "x"]), ("gpool.restore", ["q"]),
                        ("gpool.restore", ["q", "k", "c", "d"])]:
        c.run(name.upper(), *words, expect=arity(name))
    for bad in ["99", "600", "-1", "+200", "2e2", "", "abc", "4290", " 429"]:
        c.run("GPOOL.REPORT", "q", "q-key-0001", "embed", bad)
    c.run("GPOOL.REPORT", "q", "q-key-0001", "embed", "0429", expect=("array", (
        ("bulk", b"transient"), ("int", 0), ("int", 1))))
    c.run("GPOOL.REPORT", "q", "bad key", "bad class", "x")
    c.run("GPOOL.REPORT", "q", "q-key-0001", "bad class", "x")
    c.run("GPOOL.REPORT", "q", "not-in-q", "embed", "200")
    c.run("GPOOL.PROJECT", "q", "bad project", "q-key-0001")
    c.run("GPOOL.PROJECT", "q", "proj", "q-key-0001", "bad key")
    c.run("GPOOL.PROJECT", "q", "proj", "q-key-0001", "not-in-q")
    c.run("GPOOL.PIN", "q", "bad pin", "5")
    for bad in ["0", "31536001", "-5", "1.5", ""]:
        c.run("GPOOL.PIN", "q", "p", bad)
    c.run("GPOOL.UNPIN", "q", "bad pin")
    c.run("GPOOL.PINNED", "q", "bad pin")

    for name, klass, status, body, outcome, seconds in provider_cases():
        reply = c.run("GPOOL.REPORT", "q", "q-key-0002", klass, status, body)
        if reply[0] != "array" or reply[1][0] != ("bulk", outcome.encode()) \
                or reply[1][1] != ("int", seconds):
            c.fail("%s: expected %s %s, got %r" % (name, outcome, seconds, reply))
        c.run("GPOOL.STATUS", "q")
        c.run("GPOOL.RESTORE", "q", "q-key-0002")
        c.run("GPOOL.STATUS", "q")

    minute = json_body(violation("GenerateRequestsPerMinutePerProjectPerModel") +
                       "," + retry("7.2s"))
    daily = json_body(violation("GenerateRequestsPerDayPerProjectPerModel-FreeTier"))
    invalid = ('{"error":{"code":400,"message":"API key not valid.","status":'
               '"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.'
               'ErrorInfo","reason":"API_KEY_INVALID"}]}}')
    c.run("GPOOL.PROJECT", "q", "proj-a", "q-key-0003", "q-key-0004", "q-key-0005",
          expect=("int", 3))
    c.run("GPOOL.PROJECT", "q", "proj-a", "q-key-0004", "q-key-0006", expect=("int", 1))
    c.run("GPOOL.PROJECT", "q", "proj-b", "q-key-0005", "q-key-0005", expect=("int", 1))
    for _ in range(3):
        c.run("GPOOL.NEXT", "q", "generate")
    c.run("GPOOL.REPORT", "q", "q-key-0004", "generate", "429", minute)
    c.run("GPOOL.REPORT", "q", "q-key-0003", "generate", "429", minute)
    c.run("GPOOL.REPORT", "q", "q-key-0005", "embed", "429", daily)
    c.run("GPOOL.SPEND", "q", "q-key-0003", "generate")
    for _ in range(12):
        c.run("GPOOL.NEXT", "q", "generate")
    c.run("GPOOL.STATUS", "q")
    c.run("GPOOL.DEBUG", "CLOCK", day + 7)
    c.run("GPOOL.STATUS", "q")
    c.run("GPOOL.DEBUG", "CLOCK", day + 8)
    c.run("GPOOL.STATUS", "q")
    for _ in range(4):
        c.run("GPOOL.NEXT", "q", "generate")
    c.run("GPOOL.REPORT", "q", "q-key-0007", "embed", "400", invalid)
    c.run("GPOOL.REPORT", "q", "q-key-0007", "embed", "400", invalid)
    c.run("GPOOL.REPORT", "q", "q-key-0008", "generate", "401")
    c.run("GPOOL.SPEND", "q", "q-key-0007", "embed")
    c.run("GPOOL.RECORD", "q", "q-key-0007", "2")
    c.run("GPOOL.USAGE", "q")
    c.run("GPOOL.ADD", "q", "q-key-0007", expect=("int", 0))
    c.run("GPOOL.STATUS", "q")
    for _ in range(12):
        c.run("GPOOL.NEXT", "q", "embed")
    c.run("GPOOL.RESTORE", "q", "q-key-0007", "embed")
    c.run("GPOOL.RESTORE", "q", "q-key-0007")
    c.run("GPOOL.RESTORE", "q", "q-key-0007")
    c.run("GPOOL.REMOVE", "q", "q-key-0008", "q-key-0004")
    c.run("GPOOL.STATUS", "q")
    # A cooldown that crosses midnight is carried into the new day's runs.
    c.run("GPOOL.DEBUG", "CLOCK", day + 82800 - 30)
    c.run("GPOOL.REPORT", "q", "q-key-0009", "generate", "429", json_body(retry("120s")))
    c.run("GPOOL.REPORT", "q", "q-key-0010", "generate", "429",
          json_body(violation("PerMinute") + "," + retry("600s")))
    c.run("GPOOL.DEBUG", "CLOCK", day + 82800 + 30)
    c.run("GPOOL.STATUS", "q")
    for _ in range(5):
        c.run("GPOOL.NEXT", "q", "generate")
    c.run("GPOOL.DEBUG", "CLOCK", day + 82800 + 700)
    c.run("GPOOL.NEXT", "q", "generate")
    c.run("GPOOL.STATUS", "q")
    # Pins.
    c.run("GPOOL.PIN", "q", "maintenance", "30", expect=("status", "OK"))
    c.run("GPOOL.PIN", "q", "short", "5")
    c.run("GPOOL.PINNED", "q", "maintenance", expect=("int", 30))
    c.run("GPOOL.STATUS", "q")
    c.run("GPOOL.DEBUG", "CLOCK", day + 82800 + 706)
    c.run("GPOOL.PINNED", "q", "short", expect=("int", 0))
    c.run("GPOOL.PIN", "q", "later", "100")
    c.run("GPOOL.UNPIN", "q", "maintenance", expect=("int", 1))
    c.run("GPOOL.UNPIN", "q", "maintenance", expect=("int", 0))
    c.run("GPOOL.UNPIN", "q", "later", expect=("int", 1))
    c.run("GPOOL.STATUS", "q")
    # Wrong types among the new keys.
    for planted in ["gpool:{q}:disabled", "gpool:{q}:streak", "gpool:{q}:projects",
                    "gpool:{q}:pins", "gpool:{q}:cooling:generate", "gpool:{q}:project:proj-a"]:
        c.raw("RENAME", planted, planted + ":saved")
        c.raw("SET", planted, "x")
        for words in [["GPOOL.ADD", "q", "q-key-0099"], ["GPOOL.NEXT", "q", "generate"],
                      ["GPOOL.SPEND", "q", "q-key-0001", "generate"],
                      ["GPOOL.RESTORE", "q", "q-key-0001"],
                      ["GPOOL.RESTORE", "q", "not-in-q"],
                      ["GPOOL.RECORD", "q", "q-key-0001"], ["GPOOL.USAGE", "q"],
                      ["GPOOL.STATUS", "q"], ["GPOOL.REMOVE", "q", "q-key-0003"],
                      ["GPOOL.REPORT", "q", "q-key-0003", "generate", "429", daily],
                      ["GPOOL.REPORT", "q", "not-in-q", "generate", "200"],
                      ["GPOOL.PROJECT", "q", "proj-a", "q-key-0001"],
                      ["GPOOL.PROJECT", "q", "proj-a", "not-in-q"],
                      ["GPOOL.PIN", "q", "p", "5"], ["GPOOL.UNPIN", "q", "p"],
                      ["GPOOL.PINNED", "q", "p"]]:
            c.run(*words)
        c.raw("DEL", planted)
        c.raw("RENAME", planted + ":saved", planted)


def odd_state(c):
    """States only a hand-edited pool holds, met by every command as the module meets them:
    keys of other types (plain sets and lists among them) wherever a command reads or skips
    reading, stored numbers the pool never writes, scores that are not whole, runs and
    cooldowns out of step with the ring."""
    day = 1773561600 + 3600  # 2026-03-15 02:00 PDT
    c.run("GPOOL.DEBUG", "CLOCK", day)
    keys = ["o-key-%d" % i for i in range(1, 7)]
    c.run("GPOOL.ADD", "o", *keys)
    c.run("GPOOL.NEXT", "o", "embed")
    c.run("GPOOL.SPEND", "o", "o-key-3", "embed")
    today = day_label(c, "o")
    prefix = "gpool:{o}:"
    plants = {"string": ["SET", "x"], "set": ["SADD", "x"], "list": ["RPUSH", "x"],
              "hash": ["HSET", "f", "1"], "zset": ["ZADD", "1", "x"]}
    commands = [["GPOOL.NEXT", "o", "embed"], ["GPOOL.SPEND", "o", "o-key-4", "embed"],
                ["GPOOL.RESTORE", "o", "o-key-3", "embed"], ["GPOOL.RECORD", "o", "o-key-1"],
                ["GPOOL.REPORT", "o", "o-key-2", "embed", "200"], ["GPOOL.USAGE", "o"],
                ["GPOOL.STATUS", "o"]]
    for name, right in [("ring", "zset"), ("cursor", "hash"), ("disabled", "zset"),
                        ("usage:" + today, "hash"), ("spent:embed:" + today, "zset"),
                        ("skip:embed:" + today, "zset"), ("cooling:embed", "zset"),
                        ("streak", "hash"), ("projects", "hash")]:
        key = prefix + name
        c.raw("RENAME", key, key + ":saved")
        for kind, words in plants.items():
            if kind == right:
                continue
            c.raw("DEL", key)
            c.raw(words[0], key, *words[1:])
            for command in commands:
                c.run(*command)
        c.raw("DEL", key)
        c.raw("RENAME", key + ":saved", key)
    # An empty pool reads no ring key and no runs, and must still refuse bad ones.
    for name in ["skip:embed:" + today, "usage:" + today, "spent:embed:" + today]:
        c.raw("SET", "gpool:{none}:" + name, "x")
        c.run("GPOOL.NEXT", "none", "embed", expect=WRONGTYPE)
        c.raw("DEL", "gpool:{none}:" + name)
    c.run("GPOOL.NEXT", "none", "embed", expect=("nil",))

    # Cursors and counts the pool never writes.
    for cursor in ["abc", "007", "4.0", "1e2", "-3", "", "99999999999999999999999", "6"]:
        c.raw("HSET", prefix + "cursor", "embed", cursor)
        c.run("GPOOL.NEXT", "o", "embed")
    for count in ["0", "007", "-5", "abc", "12", "+3", "-0", "9007199254740993",
                  "9223372036854775806", "9223372036854775807", "9223372036854775808"]:
        c.raw("DEL", prefix + "usage:" + today)
        for key in keys:
            c.raw("HSET", prefix + "usage:" + today, key, count)
        c.run("GPOOL.NEXT", "o", "embed")
        c.run("GPOOL.NEXT", "o", "embed")
        # The library replies a count above 2^53 as near as a double holds it.
        run = c.run if len(count) < 16 else c.run_near
        run("GPOOL.RECORD", "o", "o-key-1", "2")
        run("GPOOL.USAGE", "o", "o-key-1")
    c.raw("DEL", prefix + "usage:" + today)
    # Scores that are not whole positions, and runs that are not maximal or not numbers.
    c.raw("ZADD", prefix + "ring", "2.5", "o-key-half")
    for _ in range(4):
        c.run("GPOOL.NEXT", "o", "embed")
    c.run("GPOOL.SPEND", "o", "o-key-half", "embed")
    c.run("GPOOL.NEXT", "o", "embed")
    c.raw("ZADD", prefix + "skip:embed:" + today, "5", "abc")
    c.raw("ZADD", prefix + "skip:embed:" + today, "6", "6")
    for _ in range(4):
        c.run("GPOOL.NEXT", "o", "embed")
    c.raw("DEL", prefix + "skip:embed:" + today)
    c.run("GPOOL.NEXT", "o", "embed")
    # Runs that are not maximal: NEXT hops over one run into the next, which it has read
    # with the first and need not look up again; and runs at the ring's end, with none after.
    c.run("GPOOL.ADD", "h", *["h-key-%d" % i for i in range(1, 10)])
    c.run("GPOOL.NEXT", "h", "embed")
    for i in [2, 3, 8, 9]:
        c.run("GPOOL.SPEND", "h", "h-key-%d" % i, "embed")
    c.raw("ZADD", "gpool:{h}:skip:embed:" + today, "5", "4")
    for _ in range(8):
        c.run("GPOOL.NEXT", "h", "embed")
    c.raw("ZADD", "gpool:{h}:skip:embed:" + today, "3.5", "3")
    for _ in range(4):
        c.run("GPOOL.NEXT", "h", "embed")
    # Cooldowns: one not yet due beside the day's runs, one not yet due with no runs (a new
    # day), one due, and one for a key the ring does not hold.
    ms = day * 1000
    c.raw("ZADD", prefix + "cooling:embed", str(ms + 5000), "o-key-5")
    c.run("GPOOL.NEXT", "o", "embed")
    c.run("GPOOL.SPEND", "o", "o-key-6", "embed")
    c.run("GPOOL.NEXT", "o", "embed")
    c.raw("DEL", prefix + "skip:embed:" + today)
    c.run("GPOOL.NEXT", "o", "embed")
    c.raw("ZADD", prefix + "cooling:embed", str(ms - 1), "o-key-2")
    c.run("GPOOL.NEXT", "o", "embed")
    c.raw("ZADD", prefix + "cooling:embed", str(ms + 9000), "not-in-o")
    c.run("GPOOL.NEXT", "o", "embed")
    c.run("GPOOL.DEBUG", "CLOCK", day + 6)
    for _ in range(3):
        c.run("GPOOL.NEXT", "o", "embed")
    c.run("GPOOL.REPORT", "o", "o-key-1", "embed", "200")
    c.run("GPOOL.STATUS", "o")


def lost_meta(c):
    """ADD after the `meta` hash is lost on its own (evicted under an allkeys-* policy,
    deleted by hand) while the ring stays: new keys take positions after the highest the
    pool holds, in the ring or disabled, so positions never repeat and every key is served."""
    c.run("GPOOL.DEBUG", "CLOCK", 1773561600)
    keys = ["test-key-%04d" % i for i in range(1, 8)]
    c.run("GPOOL.ADD", "m", *keys[:3], expect=("int", 3))
    c.raw("DEL", "gpool:{m}:meta")
    c.run("GPOOL.ADD", "m", *keys[3:5], expect=("int", 2))
    for key in keys[:5] + keys[:1]:
        c.run("GPOOL.NEXT", "m", "embed", expect=("bulk", key.encode()))
    c.run("GPOOL.STATUS", "m")
    # A disabled key holds the highest position: RESTORE returns it there, so no new key
    # may take it.
    c.run("GPOOL.REPORT", "m", keys[4], "embed", "401")
    c.raw("DEL", "gpool:{m}:meta")
    c.run("GPOOL.ADD", "m", keys[5], expect=("int", 1))
    c.run("GPOOL.RESTORE", "m", keys[4], expect=("int", 1))
    for _ in range(7):
        c.run("GPOOL.NEXT", "m", "embed")
    # A counter behind the ring is passed over; one ahead of it still decides.
    c.raw("HSET", "gpool:{m}:meta", "seq", "2")
    c.run("GPOOL.ADD", "m", keys[6], expect=("int", 1))
    c.raw("HSET", "gpool:{m}:meta", "seq", "20")
    c.run("GPOOL.ADD", "m", "test-key-0008", expect=("int", 1))
    # Scores a hand-edited ring may hold: not whole, or infinite (never a position).
    c.raw("ZADD", "gpool:{m}:ring", "30.5", "test-key-half")
    c.raw("ZADD", "gpool:{m}:ring", "+inf", "test-key-inf")
    c.raw("DEL", "gpool:{m}:meta")
    c.run("GPOOL.ADD", "m", "test-key-0009", expect=("int", 1))
    c.raw("ZREM", "gpool:{m}:ring", "test-key-inf")
    for _ in range(4):
        c.run("GPOOL.NEXT", "m", "embed")
    # An emptied ring with its counter lost: positions start again.
    c.run("GPOOL.ADD", "e", *keys[:3])
    c.run("GPOOL.REMOVE", "e", *keys[:3], expect=("int", 3))
    c.raw("DEL", "gpool:{e}:meta")
    c.run("GPOOL.ADD", "e", *keys[3:5], expect=("int", 2))
    c.run("GPOOL.NEXT", "e", "embed", expect=("bulk", keys[3].encode()))


def acl_denial(c):
    """A user whose key patterns do not cover gpool:{<pool>}:* (here `~a`, the pool name
    alone, which FCALL checks as its key). The library's reads go through redis.pcall and
    must answer the error Redis gives for the denied key, never WRONGTYPE: the reply must
    equal what a script of that user gets for the same read. The module opens its keys
    without ACL checks, so it may well serve the user: its reply is shown, not compared."""
    c.raw("ACL", "SETUSER", "limited", "on", "nopass", "~a", "+@all")
    c.run("GPOOL.DEBUG", "CLOCK", 1773561600)
    c.run("GPOOL.ADD", "a", "test-key-0001", "test-key-0002", expect=("int", 2))
    module = Connection(c.servers[0].port, c.resp3)
    lua = Connection(c.servers[1].port, c.resp3)
    for conn in (module, lua):
        conn.call("AUTH", "limited", "any")
    denied = lua.call("EVAL", "return redis.pcall('ZRANGE', ARGV[1], '0', '0')", "0",
                      "gpool:{a}:cooling:embed")
    where = "[acl ~a]"
    if denied[0] != "error" or denied == WRONGTYPE or not (
            denied[1].startswith("NOPERM") or "can't access" in denied[1]):
        c.fail("%s a script's denied read: %r" % (where, denied))
        return
    before = dump(c.lua)
    for words in [["GPOOL.NEXT", "a", "embed"],
                  ["GPOOL.SPEND", "a", "test-key-0001", "embed"],
                  ["GPOOL.REPORT", "a", "test-key-0001", "embed", "200"]]:
        got = lua.call(*as_fcall(words))
        if got == denied:
            c.passed += 1
        else:
            c.fail("%s %s:\n  lua:    %r\n  wanted: %r" % (where, " ".join(words), got, denied))
        print("note: %s %s: the module, which opens keys without ACL checks, replies %r"
              % (where, " ".join(words), module.call(*words)))
    # The library wrote nothing for the denied user. (The module may have: its keys are
    # not compared from here on.)
    if dump(c.lua) == before:
        c.passed += 1
    else:
        c.fail("%s the library's keys changed: %r" % (where, dump(c.lua)))


def large_counts(c):
    """Counts at and near the largest 64-bit integer, where the module's counts stop. The
    library keeps them exactly (HINCRBY), so the stored keys must match byte for byte, but
    replies them through Lua's doubles: exact up to 2^53, and above that within 1023 of the
    module's reply and never negative (a double of 2^63 would come back as -2^63)."""
    day = 1773561600  # 2026-03-15 01:00 PDT
    c.run("GPOOL.DEBUG", "CLOCK", day)
    keys = ["big-key-%d" % i for i in range(1, 4)]
    c.run("GPOOL.ADD", "big", *keys)
    for key in keys:
        c.run("GPOOL.RECORD", "big", key)
    usage = "gpool:{big}:usage:" + day_label(c, "big")

    # Up to 2^53 every count is exact.
    c.raw("HSET", usage, keys[0], str(2**53 - 2))
    c.run("GPOOL.RECORD", "big", keys[0], "2", expect=("int", 2**53))
    c.run("GPOOL.USAGE", "big", keys[0], expect=("array", (("int", 2**53),)))
    c.raw("HSET", usage, keys[0], str(2**53 - 1))
    c.run("GPOOL.NEXT", "big", "embed", expect=("bulk", keys[0].encode()))
    c.run("GPOOL.USAGE", "big", keys[0], expect=("array", (("int", 2**53),)))

    # Above 2^53, up to the limit and past it, through RECORD, NEXT and USAGE.
    for stored, count in [(2**53 + 1, 2), (2**62 + 1, 1000), (2**63 - 1025, 1),
                          (2**63 - 1024, 1), (2**63 - 513, 1), (2**63 - 512, 1),
                          (2**63 - 1000, 999), (9223372036854775800, 1000),
                          (2**63 - 2, 1), (2**63 - 1, 1), (2**63 - 1, 1000000000),
                          (-2**63, 1000), (-2**63 + 1000, 1)]:
        c.raw("HSET", usage, keys[1], str(stored))
        c.run_near("GPOOL.RECORD", "big", keys[1], count)
        c.run_near("GPOOL.USAGE", "big", keys[1])
    for key in keys:
        c.raw("HSET", usage, key, str(2**63 - 1))
    for _ in range(4):
        c.run("GPOOL.NEXT", "big", "embed")
    c.run_near("GPOOL.USAGE", "big", *keys)
    c.run_near("GPOOL.USAGE", "big")
    c.run_near("GPOOL.RECORD", "big", keys[2], "5")
    c.run("GPOOL.REMOVE", "big", keys[2], expect=("int", 1))
    c.run_near("GPOOL.USAGE", "big", *keys)

    # Numbers past the 64-bit range are no count: the module reads them as 0.
    for stored in [2**63, 10**20, -2**63 - 1, 10**40]:
        c.raw("HSET", usage, keys[0], str(stored))
        c.run("GPOOL.USAGE", "big", keys[0], expect=("array", (("int", 0),)))
        c.run_near("GPOOL.USAGE", "big")
        c.run("GPOOL.RECORD", "big", keys[0], "3", expect=("int", 3))

    # A class's streak is a stored count too, replied by STATUS and REPORT.
    streaks = "gpool:{big}:streak"
    for stored in [2**63 - 1, 2**63 - 1024, 2**53 + 1, 10**20]:
        c.raw("HSET", streaks, "embed", str(stored))
        c.run_near("GPOOL.STATUS", "big")
        c.run_near("GPOOL.REPORT", "big", keys[0], "embed", "429",
                   json_body(violation("PerDay")))
        c.run_near("GPOOL.REPORT", "big", keys[1], "embed", "401")
        c.run_near("GPOOL.STATUS", "big")
        c.run("GPOOL.RESTORE", "big", keys[0])
        c.run("GPOOL.RESTORE", "big", keys[1])
    # Lengthened, it is stored exactly, and stays at the limit.
    for stored in [2**53 + 1, 2**62 + 1, 2**63 - 1000, 2**63 - 513, 2**63 - 2, 2**63 - 1,
                   2**63, -2**63, 10**20, "+3", "007", "abc"]:
        c.raw("HSET", streaks, "embed", str(stored))
        c.run_near("GPOOL.REPORT", "big", keys[0], "embed", "503")
        c.run_near("GPOOL.REPORT", "big", keys[0], "embed", "429", json_body(retry("5s")))
        c.run_near("GPOOL.STATUS", "big")
        c.run("GPOOL.DEBUG", "CLOCK", day + 10)
        c.run_near("GPOOL.REPORT", "big", keys[0], "embed", "503")
        c.run("GPOOL.RESTORE", "big", keys[0])
        c.run("GPOOL.DEBUG", "CLOCK", day)
    c.run("GPOOL.REPORT", "big", keys[0], "embed", "200",
          expect=("array", (("bulk", b"ok"), ("int", 0), ("int", 0))))


def classification(c):
    """REPORT's judgement of bodies derived from the shared cases: cut short, relayed by
    proxies (once, and more deeply than is unwrapped), with odd numbers and bytes."""
    import json
    c.run("GPOOL.DEBUG", "CLOCK", 1773561600)
    bodies = []
    for _, _, status, body, _, _ in provider_cases():
        for cut in [1, 2, len(body) // 3, len(body) // 2, len(body) - 1]:
            bodies.append((status, body[:cut]))
        relayed = json.dumps({"error": {"code": 502, "message": "upstream said: " + body}})
        bodies.append((status, relayed))
        bodies.append((500, relayed))
        raw = json.dumps({"error": {"message": "Provider returned error",
                                    "metadata": {"raw": body}}})
        bodies.append((400, raw))
        deep = body
        for _ in range(4):
            deep = json.dumps({"error": {"message": "relay " + deep}})
        bodies.append((status, deep))
        bodies.append((status, body + " trailing"))
        bodies.append((status, body.replace("429", "429.0")))
        bodies.append((status, body.replace('"15"', "0").replace('"0"', "0.0")))
        bodies.append((status, body.encode() + b"\xff"))
        bodies.append((status, b"\xef\xbb\xbf" + body.encode()))
    bodies += [(429, '{"error":[]}'), (429, '{"error":{}}'), (429, "[]"), (429, "null"),
               (429, '"error"'), (429, '{"error":"details"}'), (400, '{"error":{"details":'
               '{"reason":"API_KEY_INVALID"}}}'), (429, "{" * 200 + "}" * 200),
               (429, '{"error":{"message":"limit: 0, model: x"}}'),
               (429, '{"error":{"message":"limit: 0.5"}}'),
               (429, '{"error":{"message":"x {\\"error\\":{\\"code\\":401}} y"}}'),
               (429, json_body(retry(" 45s "))), (429, json_body(retry("1e2s"))),
               (429, json_body(retry(".5s"))), (429, json_body(retry("5.s"))),
               (429, json_body(retry("-5s"))), (429, json_body(retry("infs"))),
               (429, json_body(retry("0s"))), (429, json_body(retry("999999s"))),
               (429, json_body(retry("+3s")))]
    c.run("GPOOL.ADD", "j", "j-key-0001")
    for status, body in bodies:
        c.run("GPOOL.REPORT", "j", "j-key-0001", "embed", status, body)
        c.run("GPOOL.RESTORE", "j", "j-key-0001")


def json_body(details):
    return ('{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED",'
            '"details":[' + details + ']}}')


def violation(quota_id, value="15"):
    return ('{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":'
            '[{"quotaId":"%s","quotaValue":"%s"}]}' % (quota_id, value))


def retry(delay):
    return '{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"%s"}' % delay


def day_label(c, pool="w"):
    reply = c.module.call("GPOOL.STATUS", pool)
    fields = reply[1]
    if reply[0] == "map":
        pairs = dict((k[1], v) for k, v in fields)
    else:
        pairs = dict((fields[i][1], fields[i + 1]) for i in range(0, len(fields), 2))
    return pairs[b"day"][1].decode()


def shown(arg):
    data = arg if isinstance(arg, bytes) else arg.encode()
    out = ""
    for b in data[:32]:
        if 0x21 <= b <= 0x7E and b not in (0x27, 0x5C):
            out += chr(b)
        else:
            out += "\\x%02x" % b
    return out + ("..." if len(data) > 32 else "")


REPORTS = [
    ["200"], ["503"], ["401"], ["429"],
    ["429", json_body(violation("GenerateRequestsPerDayPerProjectPerModel-FreeTier"))],
    ["429", json_body(violation("GenerateRequestsPerMinutePerProjectPerModel") + ","
                      + retry("3.5s"))],
    ["429", json_body(retry("45s"))],
    ["429", json_body(violation("PerMinute"))],
]


def random_operations(c, rounds, seed):
    """Random adds, removes, spends, restores, NEXTs and clock moves on a few pools."""
    rng = random.Random(seed)
    keys = ["key-%04d" % i for i in range(40)]
    classes = ["embed", "generate", "a:b"]
    pools = ["r1", "r2"]
    clock = 1772870400  # 2026-03-07, the day before daylight saving time starts
    c.run("GPOOL.DEBUG", "CLOCK", clock)
    for _ in range(rounds):
        pool = rng.choice(pools)
        op = rng.random()
        if op < 0.12:
            c.run("GPOOL.ADD", pool, *rng.sample(keys, rng.randint(1, 6)))
        elif op < 0.20:
            c.run("GPOOL.REMOVE", pool, *rng.sample(keys, rng.randint(1, 3)))
        elif op < 0.45:
            c.run("GPOOL.SPEND", pool, rng.choice(keys), rng.choice(classes))
        elif op < 0.55:
            c.run("GPOOL.RESTORE", pool, rng.choice(keys), rng.choice(classes))
        elif op < 0.85:
            c.run("GPOOL.NEXT", pool, rng.choice(classes))
        elif op < 0.90:
            c.run("GPOOL.RECORD", pool, rng.choice(keys), rng.randint(1, 50))
        elif op < 0.91:
            c.run("GPOOL.USAGE", pool)
        elif op < 0.93:
            c.run("GPOOL.STATUS", pool)
        elif op < 0.955:
            c.run("GPOOL.REPORT", pool, rng.choice(keys), rng.choice(classes),
                  *rng.choice(REPORTS))
        elif op < 0.96:
            c.run("GPOOL.PROJECT", pool, rng.choice(["pa", "pb", "pc"]),
                  *rng.sample(keys, rng.randint(1, 4)))
        elif op < 0.97:
            c.run("GPOOL.RESTORE", pool, rng.choice(keys))
        else:
            clock += rng.choice([1, 5, 30, 600, 3600, 7 * 3600, 86400])
            c.run("GPOOL.DEBUG", "CLOCK", clock)


def main():
    module = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    if not os.path.isfile(module):
        print("compare.py: the module is not at %s: run make build" % module, file=sys.stderr)
        sys.exit(1)
    passed = failed = 0
    runs = [
        (["debug-clock", "yes"], False, scenario),
        (["debug-clock", "yes"], True, scenario),
        (["debug-clock", "yes"], False, penalties),
        (["debug-clock", "yes"], True, penalties),
        (["debug-clock", "yes"], False, classification),
        (["debug-clock", "yes"], False, odd_state),
        (["debug-clock", "yes"], False, large_counts),
        (["debug-clock", "yes"], False, lost_meta),
        (["debug-clock", "yes"], True, lost_meta),
        (["debug-clock", "yes"], False, acl_denial),
        (["debug-clock", "yes"], True, acl_denial),
        (["debug-clock", "yes"], True, large_counts),
        (["timezone", "Europe/Berlin", "debug-clock", "yes"], False, scenario),
        (["debug-clock", "yes"], False, lambda c: random_operations(c, rounds, 1)),
        (["timezone", "America/New_York", "debug-clock", "yes"], True,
         lambda c: random_operations(c, rounds // 2, 2)),
    ]
    for options, resp3, body in runs:
        c = Comparison(module, options, resp3)
        try:
            body(c)
        finally:
            c.stop()
        passed += c.passed
        failed += c.failed

    # Without debug-clock, both refuse to pin the clock.
    c = Comparison(module, [])
    try:
        c.run("GPOOL.DEBUG", "CLOCK", "1",
              expect=err("ERR debug commands are disabled: load the module with "
                         "'debug-clock yes'"))
        c.run("GPOOL.DEBUG", "TIME", "x")
        c.run("GPOOL.DEBUG", "CLOCK", expect=arity("gpool.debug"))
        c.run("GPOOL.STATUS", "p")
    finally:
        c.stop()
    passed += c.passed
    failed += c.failed

    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
