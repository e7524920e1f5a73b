"""Writes Parquet files as standard logging v2 delivers them, with pyarrow.

Every column is a string, named in snake_case. Input: a JSON file of
{"columns": [...], "rows": [[...], ...]}, the raw values of a log's lines.

    python parquet_in.py IN.json OUT.parquet [--nulls] [--row-group-size N]
        [--compression snappy|zstd|gzip|lz4|brotli|none] [--int-column NAME]
        [--rename-all]
        [--null-type]

--nulls writes a missing value ("-") as null instead, and with --null-type a
column that is null in every row is typed null, as pyarrow types such a column
when it infers the types; --int-column writes that column as int64 (a column of
another type than AWS's strings); --rename-all names the columns col0, col1…
(no CloudFront column).
"""

import argparse
import json

import pyarrow as pa
import pyarrow.parquet as pq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--nulls", action="store_true")
    parser.add_argument("--row-group-size", type=int, default=None)
    parser.add_argument(
        "--compression",
        default="snappy",
        choices=["snappy", "zstd", "gzip", "lz4", "brotli", "none"],
    )
    parser.add_argument("--int-column", default=None)
    parser.add_argument("--rename-all", action="store_true")
    parser.add_argument("--null-type", action="store_true")
    args = parser.parse_args()

    with open(args.input, encoding="utf-8") as f:
        data = json.load(f)
    columns = data["columns"]
    rows = data["rows"]
    arrays = []
    fields = []
    for i, name in enumerate(columns):
        values = [row[i] for row in rows]
        if args.nulls:
            values = [None if v == "-" else v for v in values]
        if args.rename_all:
            name = f"col{i}"
        if columns[i] == args.int_column:
            values = [int(v) if v is not None and v.isdigit() else None for v in values]
            kind = pa.int64()
        elif args.null_type and all(v is None for v in values):
            kind = pa.null()
        else:
            kind = pa.string()
        arrays.append(pa.array(values, type=kind))
        fields.append(pa.field(name, kind))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    compression = None if args.compression == "none" else args.compression
    pq.write_table(
        table,
        args.output,
        row_group_size=args.row_group_size,
        compression=compression,
    )


if __name__ == "__main__":
    main()
