"""Checks the figures of `cflog report --format json` against DuckDB's own
count over the same entries, written as Parquet by `cflog --format parquet`.

    against_duckdb.py ENTRIES.parquet REPORT.json

Exact figures must be equal; estimates (visitors, distinct addresses,
latency percentiles) must be within their stated error. Lists are compared
whole when the report says they are exact. Prints one JSON line with the
rows and the number of checks; exits non-zero at the first difference.
"""

import json
import sys
from collections import Counter
from urllib.parse import urlsplit

import duckdb

HITS = ("Hit", "RefreshHit", "OriginShieldHit")
MISSES = ("Miss", "MissGeneratedResponse")
checks = 0


def same(what, got, want):
    global checks
    checks += 1
    if got != want:
        print(f"against_duckdb: {what}: the report has {got!r}, DuckDB {want!r}", file=sys.stderr)
        sys.exit(1)


def near(what, got, want, relative, absolute=0.0):
    global checks
    checks += 1
    if abs(got - want) > relative * abs(want) + absolute:
        print(f"against_duckdb: {what}: the report has {got}, DuckDB {want}", file=sys.stderr)
        sys.exit(1)


def top(counter, n):
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0].encode()))[:n]


def listed(rows):
    return [(r["value"], r["requests"]) for r in rows]


def main():
    parquet, report_path = sys.argv[1], sys.argv[2]
    with open(report_path) as f:
        report = json.load(f)
    o = report["overview"]
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")
    db.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet('{parquet}')")
    q = lambda sql: db.execute(sql).fetchall()

    rows = q("SELECT count(*) FROM e")[0][0]
    same("requests", o["requests"], rows)
    same("bytes_sent", o["bytes_sent"], q("SELECT coalesce(sum(sc_bytes), 0) FROM e")[0][0])
    classes = dict(q("""
        SELECT CASE WHEN sc_status = 0 THEN '000'
                    WHEN sc_status BETWEEN 100 AND 599 THEN (sc_status // 100)::VARCHAR || 'xx'
                    ELSE 'other' END AS class, count(*)
        FROM e GROUP BY class"""))
    for cls in ("000", "1xx", "2xx", "3xx", "4xx", "5xx", "other"):
        same(f"status {cls}", o["status"][cls], classes.get(cls, 0))
    same("hits", o["hits"], q(f"SELECT count(*) FROM e WHERE x_edge_result_type IN {HITS}")[0][0])
    same("misses", o["misses"], q(f"SELECT count(*) FROM e WHERE x_edge_result_type IN {MISSES}")[0][0])
    first, last = q("""SELECT strftime(min(timestamp), '%Y-%m-%dT%H:%M:%SZ'),
                              strftime(max(timestamp), '%Y-%m-%dT%H:%M:%SZ') FROM e""")[0]
    same("first", o["first"], first)
    same("last", o["last"], last)
    codes = [(f"{code:03}", n) for code, n in q(
        "SELECT sc_status, count(*) FROM e WHERE sc_status IS NOT NULL GROUP BY 1 ORDER BY 1")]
    same("status codes", listed(report["status_codes"]), codes)

    resolution = report["over_time"]["resolution"]
    width = {"hour": 3600, "day": 86400}[resolution]
    buckets = [(start, n) for start, n in q(f"""
        SELECT (epoch(timestamp)::BIGINT // {width}) * {width} AS b, count(*)
        FROM e WHERE timestamp IS NOT NULL GROUP BY b ORDER BY b""")]
    same(f"requests per {resolution}",
         [(b["unix"], b["requests"]) for b in report["over_time"]["buckets"]], buckets)
    errors = [(s, c4, c5) for s, c4, c5 in q(f"""
        SELECT (epoch(timestamp)::BIGINT // {width}) * {width} AS b,
               count(*) FILTER (WHERE sc_status BETWEEN 400 AND 499),
               count(*) FILTER (WHERE sc_status BETWEEN 500 AND 599)
        FROM e WHERE timestamp IS NOT NULL GROUP BY b ORDER BY b""")]
    same(f"errors per {resolution}",
         [(b["unix"], b["client_errors"], b["server_errors"]) for b in report["over_time"]["buckets"]],
         errors)
    grid = [[0] * 24 for _ in range(7)]
    for dow, hour, n in q("SELECT isodow(timestamp) - 1, hour(timestamp), count(*) FROM e GROUP BY 1, 2"):
        if dow is not None:
            grid[dow][hour] = n
    same("week of hours", report["week_hours"], grid)

    n = len(report["objects"]["rows"])
    paths = Counter(dict(q("SELECT cs_uri_stem, count(*) FROM e WHERE cs_uri_stem IS NOT NULL GROUP BY 1")))
    if report["objects"]["exact"]:
        same("popular objects", listed(report["objects"]["rows"]), top(paths, n))
        stats = {p: (b, h, m) for p, b, h, m in q(f"""
            SELECT cs_uri_stem, coalesce(sum(sc_bytes), 0),
                   count(*) FILTER (WHERE x_edge_result_type IN {HITS}),
                   count(*) FILTER (WHERE x_edge_result_type IN {MISSES})
            FROM e WHERE cs_uri_stem IS NOT NULL GROUP BY 1""")}
        for row in report["objects"]["rows"]:
            same(f"bytes, hits and misses of {row['value']}",
                 (row["bytes_sent"], row["hits"], row["misses"]), stats[row["value"]])
    missed = Counter(dict(q(f"SELECT cs_uri_stem, count(*) FROM e WHERE x_edge_result_type IN {MISSES} AND cs_uri_stem IS NOT NULL GROUP BY 1")))
    if report["missed_objects"]["exact"]:
        same("missed objects", listed(report["missed_objects"]["rows"]), top(missed, len(report["missed_objects"]["rows"])))
    not_found = Counter(dict(q("SELECT cs_uri_stem, count(*) FROM e WHERE sc_status = 404 AND cs_uri_stem IS NOT NULL GROUP BY 1")))
    if report["not_found"]["exact"]:
        same("404s", listed(report["not_found"]["rows"]), top(not_found, len(report["not_found"]["rows"])))
    results = Counter(dict(q("SELECT x_edge_result_type, count(*) FROM e WHERE x_edge_result_type IS NOT NULL GROUP BY 1")))
    same("result types", listed(report["result_types"]["rows"]), top(results, len(report["result_types"]["rows"])))
    edges = {loc: (n, c4, c5) for loc, n, c4, c5 in q("""
        SELECT x_edge_location, count(*), count(*) FILTER (WHERE sc_status BETWEEN 400 AND 499),
               count(*) FILTER (WHERE sc_status BETWEEN 500 AND 599)
        FROM e WHERE x_edge_location IS NOT NULL GROUP BY 1""")}
    if report["edge_locations"]["exact"]:
        for row in report["edge_locations"]["rows"]:
            same(f"edge {row['value']}", (row["requests"], row["client_errors"], row["server_errors"]), edges[row["value"]])

    domains = Counter()
    for referer, count in q("SELECT cs_referer, count(*) FROM e WHERE cs_referer IS NOT NULL GROUP BY 1"):
        if "://" in referer:
            host = urlsplit(referer).hostname or ""
        else:
            host = referer.split("/")[0].lower()
        domains[host] += count
    if report["referrer_domains"]["exact"]:
        same("referrer domains", listed(report["referrer_domains"]["rows"]),
             top(domains, len(report["referrer_domains"]["rows"])))
    same("no referrer", report["no_referrer"], q("SELECT count(*) FROM e WHERE cs_referer IS NULL")[0][0])
    names = Counter()
    for query, count in q("SELECT cs_uri_query, count(*) FROM e WHERE cs_uri_query IS NOT NULL GROUP BY 1"):
        for pair in query.split("&"):
            if pair:
                names[pair.split("=", 1)[0]] += count
    if report["query_names"]["exact"]:
        same("query names", listed(report["query_names"]["rows"]), top(names, len(report["query_names"]["rows"])))

    # Estimates, within their error.
    visitors = q("""SELECT coalesce(sum(n), 0) FROM (
        SELECT count(DISTINCT (c_ip, coalesce(cs_user_agent, ''))) AS n
        FROM e WHERE c_ip IS NOT NULL AND timestamp IS NOT NULL GROUP BY timestamp::DATE)""")[0][0]
    near("visitors", o["visitors"], visitors, 0.05)
    near("distinct client addresses", o["distinct_client_ips"],
         q("SELECT count(DISTINCT c_ip) FROM e")[0][0], 0.05)
    latency = report["latency"]["time_taken"]
    for pct, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        want = q(f"SELECT quantile_disc(time_taken, {pct}) * 1000 FROM e")[0][0]
        # DDSketch's 1%, and a millisecond for the two ranks' definitions.
        near(f"time_taken {key}", latency[key], want, 0.011, 1.0)
    same("time_taken count", latency["count"], q("SELECT count(time_taken) FROM e")[0][0])
    print(json.dumps({"rows": rows, "checks": checks}))


if __name__ == "__main__":
    main()
