"""The benchmark report's formatting (bench/report.py): what `make bench` prints."""

import importlib.util
from pathlib import Path

# Loaded from its file: bench/ is not a package, and putting it on sys.path would let its
# modules (dataset, report) shadow others for the whole test session.
_spec = importlib.util.spec_from_file_location(
    "bench_report", Path(__file__).resolve().parents[2] / "bench" / "report.py"
)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def test_a_ratio_below_one_keeps_two_decimals_so_an_aim_of_0_6_is_not_rounded_up():
    assert report.ratio_text(0.555) == "0.56x"
    assert report.ratio_text(0.396) == "0.40x"


def test_a_ratio_above_one_keeps_one_decimal():
    assert report.ratio_text(3.44) == "3.4x"
    assert report.ratio_text(None) == ""


def test_statements_are_whole_or_one_decimal():
    assert report.statements_text(8) == "8"
    assert report.statements_text(6.791666666666667) == "6.8"
    assert report.statements_text(59.766666666666666) == "59.8"
    assert report.statements_text(0.193) == "0.19"
    assert report.statements_text(None) == ""


def test_the_summary_table_prints_them(capsys):
    records = [
        {
            "bench": "submission",
            "figure": "入力送信, CPU",
            "size": None,
            "median": 2.5,
            "p95": None,
            "unit": "ms",
            "target": "",
            "limit": None,
            "limit_label": "",
            "ratio": None,
            "statements": 6.791666666666667,
            "load": 1.2,
        },
        {
            "bench": "mynaportal",
            "figure": "intake",
            "size": None,
            "median": 564.8,
            "p95": None,
            "unit": "pkg/s",
            "target": "≥ 200 pkg/s, ratio ≥ 0.6",
            "limit": 1083.0,
            "limit_label": "bare verify",
            "ratio": 0.52,
            "statements": 0.19,
            "load": 1.0,
        },
    ]
    report.summary_table(records)
    out = capsys.readouterr().out
    assert "6.8 " in out and "6.791" not in out
    assert "0.52x" in out
