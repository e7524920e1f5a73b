"""Reads cflog's Parquet back with pyarrow and DuckDB, and compares it with
the JSON writer's NDJSON of the same entries.

Run by tests/readback.rs with the tools venv's Python (scripts/install-tools):

    python readback.py MANIFEST.json

The manifest lists files: each with its Parquet, its NDJSON (one object per
row, in order), the row count, the row-group limit, and the Glue columns the
Rust side renders for its column set; with "any_order", the Parquet's rows
may be in another order (inputs read in parallel), and are paired with the
NDJSON's by request id. Any difference is an AssertionError.
The last line printed is a JSON summary of what was compared.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import math
import operator
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

# The Glue (Hive) type of each Arrow type the files may have.
def hive_of(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        assert t.unit == "ms" and t.tz == "UTC", t
        return "timestamp"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_list(t):
        return f"array<{hive_of(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{hive_of(t.key_type)},{hive_of(t.item_type)}>"
    raise AssertionError(f"unexpected Arrow type {t}")


# The DuckDB type of each Glue type.
DUCKDB_TYPES = {
    "timestamp": "TIMESTAMP WITH TIME ZONE",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "map<string,array<string>>": "MAP(VARCHAR, VARCHAR[])",
    "map<string,string>": "MAP(VARCHAR, VARCHAR)",
}


def json_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def pairs(value) -> list:
    """A map as (key, value) pairs in order, as pyarrow (pairs) or DuckDB
    (a dict) gives it."""
    if isinstance(value, dict):
        return list(value.items())
    return [tuple(p) for p in value]


def json_query(obj: dict) -> list:
    """The JSON contract's query_params as (name, [values]) pairs."""
    return [(k, v if isinstance(v, list) else [v]) for k, v in obj.items()]


def json_text(value) -> str:
    """A JSON value as the contract's text, as `extra` holds it."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


class Compare:
    def __init__(self, where: str, columns: list[dict]):
        self.where = where
        self.types = {c["Name"]: c["Type"] for c in columns}
        self.values = 0

    def value(self, key: str, kind: str, expected, actual, row: int) -> None:
        at = f"{self.where} row {row} {key}"
        self.values += 1
        if expected is None:
            assert actual is None, f"{at}: {actual!r}, JSON null"
            return
        assert actual is not None, f"{at}: null, JSON {expected!r}"
        if kind == "timestamp":
            assert actual.tzinfo is not None, at
            assert actual == json_time(expected), f"{at}: {actual} != {expected}"
        elif kind == "bigint":
            assert isinstance(expected, int) and actual == expected, f"{at}: {actual!r} != {expected!r}"
        elif kind == "double":
            assert isinstance(actual, float) and actual == float(expected), f"{at}: {actual!r} != {expected!r}"
        elif kind == "string":
            assert actual == expected, f"{at}: {actual!r} != {expected!r}"
        elif kind == "boolean":
            assert isinstance(expected, bool) and actual is expected, f"{at}: {actual!r} != {expected!r}"
        elif kind == "map<string,array<string>>":
            got = [(k, list(v)) for k, v in pairs(actual)]
            assert got == json_query(expected), f"{at}: {got!r} != {expected!r}"
        else:
            raise AssertionError(f"{at}: unexpected type {kind}")

    def row(self, obj: dict, row: dict, index: int) -> None:
        for key, kind in self.types.items():
            if key == "extra":
                expected = {k: json_text(v) for k, v in obj.items() if k not in self.types and v is not None}
                actual = row["extra"]
                self.values += 1
                if not expected:
                    assert actual is None, f"{self.where} row {index}: extra {actual!r}, nothing extra"
                else:
                    assert dict(pairs(actual)) == expected, f"{self.where} row {index}: extra {actual!r} != {expected!r}"
                    assert len(pairs(actual)) == len(expected), f"{self.where} row {index}: a key twice"
            else:
                self.value(key, kind, obj.get(key), row[key], index)


def check_file(item: dict, summary: collections.Counter) -> None:
    path = item["parquet"]
    columns = item["glue_columns"]
    names = [c["Name"] for c in columns]
    objects = [json.loads(line) for line in open(item["ndjson"], encoding="utf-8")]
    assert len(objects) == item["rows"], (path, len(objects), item["rows"])

    # Types: the file's Arrow schema is the Glue columns, and Parquet's own
    # types are those Athena reads (no unsigned, no INT96).
    pf = pq.ParquetFile(path)
    schema = pf.schema_arrow
    assert schema.names == names, (schema.names, names)
    for field, column in zip(schema, columns):
        assert hive_of(field.type) == column["Type"], (field.name, field.type, column["Type"])
    parquet_schema = pf.metadata.schema
    for i in range(len(parquet_schema)):
        leaf = parquet_schema.column(i)
        assert leaf.physical_type in ("INT64", "DOUBLE", "BYTE_ARRAY"), (leaf.path, leaf.physical_type)
        logical = str(leaf.logical_type)
        assert "isSigned=false" not in logical, (leaf.path, logical)
        if leaf.path == "timestamp":
            assert leaf.physical_type == "INT64", leaf
            assert "isAdjustedToUTC=true" in logical and "timeUnit=milliseconds" in logical, logical
        if leaf.physical_type == "BYTE_ARRAY":
            assert logical.startswith("String"), (leaf.path, logical)

    # Row groups: bounded, zstd, with statistics; text by dictionary.
    meta = pf.metadata
    limit = item["row_group_rows"]
    assert meta.num_rows == item["rows"], (path, meta.num_rows)
    assert meta.num_row_groups >= math.ceil(item["rows"] / limit), (path, meta.num_row_groups)
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        assert 0 < group.num_rows <= limit, (path, g, group.num_rows, limit)
        for c in range(group.num_columns):
            chunk = group.column(c)
            assert chunk.compression == "ZSTD", (path, chunk.path_in_schema, chunk.compression)
            assert chunk.is_stats_set, (path, chunk.path_in_schema)
            stats = chunk.statistics
            if stats.null_count < chunk.num_values:
                assert stats.has_min_max, (path, chunk.path_in_schema)
            if chunk.path_in_schema == "x_edge_location" and stats.null_count < chunk.num_values:
                assert chunk.has_dictionary_page, (path, g)
                summary["dictionary_chunks"] += 1

    # Every value, through pyarrow.
    rows = pf.read().to_pylist()
    assert len(rows) == len(objects)
    by_id = operator.itemgetter("x_edge_request_id")
    if item.get("any_order"):
        ids = {by_id(o) for o in objects}
        assert len(ids) == len(objects), (path, "request ids repeat: cannot pair rows")
        objects.sort(key=by_id)
        rows.sort(key=by_id)
    compare = Compare(f"{path} (pyarrow)", columns)
    for index, (obj, row) in enumerate(zip(objects, rows)):
        compare.row(obj, row, index)
    summary["rows"] += len(rows)
    summary["values"] += compare.values

    # Every value again, and SQL, through DuckDB.
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    assert [d[0] for d in described] == names
    for d, column in zip(described, columns):
        assert d[1] == DUCKDB_TYPES[column["Type"]], (d, column)
    cursor = con.execute("SELECT * FROM read_parquet(?)", [path])
    duck_rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    assert len(duck_rows) == len(objects)
    if item.get("any_order"):
        duck_rows.sort(key=by_id)
    compare = Compare(f"{path} (DuckDB)", columns)
    for index, (obj, row) in enumerate(zip(objects, duck_rows)):
        compare.row(obj, row, index)
    summary["duckdb_rows"] += len(duck_rows)

    per_hour = collections.Counter(
        json_time(o["timestamp"]).replace(minute=0, second=0, microsecond=0) for o in objects if o.get("timestamp")
    )
    sql = con.execute(
        "SELECT date_trunc('hour', timestamp) AS hour, count(*) FROM read_parquet(?) "
        "WHERE timestamp IS NOT NULL GROUP BY hour",
        [path],
    ).fetchall()
    assert dict(sql) == dict(per_hour), (path, sql, per_hour)
    if "sc_bytes" in names:
        (total,) = con.execute("SELECT sum(sc_bytes) FROM read_parquet(?)", [path]).fetchone()
        expected = sum(o["sc_bytes"] for o in objects if o.get("sc_bytes") is not None)
        assert (total or 0) == expected, (path, total, expected)
    # A query parameter looked up by name, as an Athena user would.
    names_seen = collections.Counter(k for o in objects for k in (o.get("query_params") or {}))
    for name, count in names_seen.most_common(3):
        (found,) = con.execute(
            "SELECT count(*) FROM read_parquet(?) WHERE list_contains(map_keys(query_params), ?)",
            [path, name],
        ).fetchone()
        assert found == count, (path, name, found, count)
        summary["query_lookups"] += 1
    summary["files"] += 1
    print(f"{path}: {len(rows)} rows, {meta.num_row_groups} row groups: every value matches", file=sys.stderr)


def main() -> None:
    manifest = json.load(open(sys.argv[1], encoding="utf-8"))
    summary = collections.Counter()
    for item in manifest:
        check_file(item, summary)
    assert summary["dictionary_chunks"] > 0, "no dictionary-encoded text column was seen"
    assert summary["query_lookups"] > 0, "no query parameter was looked up"
    print(json.dumps(dict(summary)))


if __name__ == "__main__":
    main()
