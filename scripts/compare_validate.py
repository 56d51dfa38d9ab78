"""B7 of the benchmark plan: validation of 10,000,000 rows x 10 columns with 15 rules, accountscope
against pandera's `DataFrameSchema.validate(lazy=True)` on pandas, on the same Parquet file in the same run.

Generates the data once (numpy + pyarrow, seeded; cached in target/bench-data/b7.parquet), times pandera's
validation (the DataFrame is read before the clock starts) and the release runner `validate_bench` (the
table is read before its clock starts), checks that both find the same failing-row count for every rule,
and writes target/bench-results/validate.json. Run it through scripts/compare_validate.sh.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES = os.path.join(ROOT, "benches", "data", "b7_rules.yaml")
SEGMENTS = ["SMB", "MidMarket", "Enterprise"]
REGIONS = ["NA", "EMEA", "APAC", "LATAM"]
ACCOUNT = r"^ACC-[0-9]{6}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]+$"


def make_data(path, rows, seed=7):
    """10 columns with about 0.3% defects per rule, nulls where a rule tolerates them."""
    rng = np.random.default_rng(seed)
    bad = lambda share=0.003: rng.random(rows) < share  # noqa: E731

    ids = np.arange(rows)
    dup = bad(0.001)
    ids[dup] = rng.integers(0, rows, dup.sum())
    id_text = pc.binary_join_element_wise("ID", pc.utf8_lpad(pa.array(ids).cast(pa.string()), 9, "0"), "")
    id_text = pc.if_else(pa.array(bad(0.001)), pa.scalar(None, pa.string()), id_text)

    acc = rng.integers(0, 1_000_000, rows)
    acc_text = pc.binary_join_element_wise("ACC-", pc.utf8_lpad(pa.array(acc).cast(pa.string()), 6, "0"), "")
    acc_text = pc.if_else(pa.array(bad()), pc.binary_join_element_wise("acc_", pa.array(acc).cast(pa.string()), ""), acc_text)
    acc_text = pc.if_else(pa.array(bad(0.001)), pa.scalar(None, pa.string()), acc_text)

    seg = np.array(SEGMENTS + ["Enterprize"])[np.where(bad(), 3, rng.integers(0, 3, rows))]
    seg = pc.if_else(pa.array(bad(0.001)), pa.scalar(None, pa.string()), pa.array(seg))
    reg = np.array(REGIONS + ["Mars"])[np.where(bad(), 4, rng.integers(0, 4, rows))]
    reg = pc.if_else(pa.array(bad(0.002)), pa.scalar(None, pa.string()), pa.array(reg))

    arr = np.round(rng.lognormal(9, 1, rows), 2)
    arr[bad()] *= -1
    arr_null = bad(0.001)
    seats = rng.integers(1, 5000, rows)
    seats[bad()] = 0
    seats[bad(0.001)] = 20000
    active = np.minimum(seats, rng.integers(0, 5000, rows))
    over = bad()
    active[over] = seats[over] + rng.integers(1, 50, over.sum())
    active[bad(0.001)] = -1

    local = pc.binary_join_element_wise("user", pa.array(rng.integers(0, 10**6, rows)).cast(pa.string()), "")
    email = pc.binary_join_element_wise(local, "example.com", "@")
    email = pc.if_else(pa.array(bad()), pc.binary_join_element_wise(local, "example.com", " at "), email)
    email = pc.if_else(pa.array(bad(0.002)), pa.scalar(None, pa.string()), email)

    day = np.datetime64("2014-06-01", "ms")
    start = day + (rng.integers(0, 3650, rows) * 86_400_000).astype("timedelta64[ms]")
    end = start + (rng.integers(30, 1000, rows) * 86_400_000).astype("timedelta64[ms]")
    backwards = bad()
    end[backwards] = start[backwards] - np.timedelta64(86_400_000, "ms")
    end_arr = pc.if_else(pa.array(bad(0.002)), pa.scalar(None, pa.timestamp("ms")), pa.array(end))

    table = pa.table({
        "id": id_text,
        "account_id": acc_text,
        "segment": seg,
        "region": reg,
        "arr": pa.array(arr, mask=arr_null),
        "seats": pa.array(seats),
        "active_users": pa.array(active),
        "email": email,
        "start": pa.array(start),
        "end": end_arr,
    })
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pq.write_table(table, path, row_group_size=1 << 20)


def pandera_schema():
    import pandera.pandas as pa_

    return pa_.DataFrameSchema(
        {
            "id": pa_.Column(str, nullable=False, unique=True, report_duplicates="all"),
            "account_id": pa_.Column(str, pa_.Check.str_matches(ACCOUNT), nullable=False),
            "segment": pa_.Column(str, pa_.Check.isin(SEGMENTS), nullable=False),
            "region": pa_.Column(str, pa_.Check.isin(REGIONS), nullable=True),
            "arr": pa_.Column(float, pa_.Check.ge(0), nullable=False),
            "seats": pa_.Column(int, pa_.Check.in_range(1, 10000)),
            "active_users": pa_.Column(int, pa_.Check.ge(0)),
            "email": pa_.Column(str, pa_.Check.str_matches(EMAIL), nullable=True),
            "start": pa_.Column("datetime64[ms]", pa_.Check.ge(pd.Timestamp("2015-01-01"))),
            "end": pa_.Column("datetime64[ms]", nullable=True),
        },
        checks=[
            pa_.Check(lambda df: df["active_users"] <= df["seats"], name="active_within_seats"),
            # pandera does not drop nulls before a DataFrame-level check; a missing end passes, as in ours.
            pa_.Check(lambda df: (df["end"] >= df["start"]) | df["end"].isna(), name="end_after_start"),
        ],
    )


# pandera (column, check) → our rule id.
PANDERA_RULES = {
    ("id", "not_nullable"): "id_not_null",
    ("id", "field_uniqueness"): "id_unique",
    ("account_id", "not_nullable"): "account_not_null",
    ("account_id", "str_matches"): "account_format",
    ("segment", "not_nullable"): "segment_not_null",
    ("segment", "isin"): "segment_set",
    ("region", "isin"): "region_set",
    ("arr", "not_nullable"): "arr_not_null",
    ("arr", "greater_than_or_equal_to"): "arr_range",
    ("seats", "in_range"): "seats_range",
    ("active_users", "greater_than_or_equal_to"): "active_range",
    (None, "active_within_seats"): "active_within_seats",
    ("email", "str_matches"): "email_format",
    ("start", "greater_than_or_equal_to"): "start_range",
    (None, "end_after_start"): "end_after_start",
}


def run_pandera(path, repeats):
    import pandera.errors

    df = pq.read_table(path).to_pandas()
    schema = pandera_schema()
    times, counts = [], {}
    for _ in range(repeats):
        t = time.perf_counter()
        try:
            schema.validate(df, lazy=True)
            cases = None
        except pandera.errors.SchemaErrors as e:
            cases = e.failure_cases
        times.append(time.perf_counter() - t)
    if cases is not None:
        # A DataFrame-level check lists each failing row once per column: count rows per check.
        frame_checks = {check for (column, check) in PANDERA_RULES if column is None}
        cases = cases.assign(
            check=cases["check"].astype(str).str.split("(").str[0],
            column=cases["column"].where(~cases["check"].astype(str).isin(frame_checks), None),
        )
        for (column, check), group in cases.groupby(["column", "check"], dropna=False):
            key = (None if pd.isna(column) else column, check)
            if key not in PANDERA_RULES:
                raise SystemExit(f"unexpected pandera failure {key}: {group.head()}")
            counts[PANDERA_RULES[key]] = int(group["index"].nunique())
    times.sort()
    return {"seconds": times[len(times) // 2], "all_seconds": times, "failed": counts, "version": pandera.__version__}


def run_ours(path, repeats):
    exe = os.path.join(ROOT, "target", "release", "examples", "validate_bench")
    out = subprocess.run([exe, "--data", path, "--rules", RULES, "--repeats", str(repeats)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--repeats", type=int, default=int(os.environ.get("REPEATS", "3")))
    args = p.parse_args()
    path = os.path.join(ROOT, "target", "bench-data", f"b7_{args.rows}.parquet")
    if not os.path.exists(path):
        make_data(path, args.rows)
    ours = run_ours(path, args.repeats)
    theirs = run_pandera(path, args.repeats)
    mismatches = {k: (ours["failed"].get(k, 0), theirs["failed"].get(k, 0))
                  for k in set(PANDERA_RULES.values())
                  if ours["failed"].get(k, 0) != theirs["failed"].get(k, 0)}
    result = {
        "rows": args.rows,
        "repeats": args.repeats,
        "threads": os.cpu_count(),
        "accountscope_seconds": ours["seconds"],
        "pandera_seconds": theirs["seconds"],
        "speedup": theirs["seconds"] / ours["seconds"],
        "pandera_version": theirs["version"],
        "failed_rows": {k: ours["failed"].get(k, 0) for k in sorted(set(PANDERA_RULES.values()))},
        "same_failing_counts": not mismatches,
        "mismatches": mismatches,
        "accountscope": ours,
        "pandera": {k: v for k, v in theirs.items() if k != "failed"},
    }
    os.makedirs(os.path.join(ROOT, "target", "bench-results"), exist_ok=True)
    with open(os.path.join(ROOT, "target", "bench-results", "validate.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps({k: result[k] for k in ["rows", "accountscope_seconds", "pandera_seconds", "speedup",
                                                 "same_failing_counts", "mismatches"]}, indent=2))
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
