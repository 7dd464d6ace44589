"""Turn a peer-benchmark JSON report into the table of docs/performance.rst.

    python benchmarks/peers_table.py REPORT.json > benchmarks/results/latest-peers-table.rst

(REPORT.json from ``peers_bench.py --json``.)  One row per case and mode: nabla's
median ms, the fastest peer's (and which), and their ratio, marked "disturbed" when
other processes used over a tenth of the CPUs while either was timed.
"""
import json
import sys

PEERS = ("torch_nchw", "torch_cl", "jax", "numpy")


def rows(report):
    for entry in report["cases"]:
        case, results = entry["case"], entry["results"]
        for mode, label in (("fwd", "fwd"), ("fwdbwd", "fwd+bwd")):
            mine = results.get("nabla", {}).get(mode)
            peers = [(results[p][mode]["median_ms"], p) for p in PEERS
                     if mode in results.get(p, {}) and results[p][mode].get("median_ms")]
            if not mine or not mine.get("median_ms") or not peers:
                continue
            best, who = min(peers)
            # Other processes used over 10% of the CPUs during the timing (the
            # benchmark's own threshold): either side's time is not trustworthy.
            disturbed = max(mine.get("foreign_cpu", 0), results[who][mode].get("foreign_cpu", 0))
            flag = " (disturbed)" if disturbed > 0.1 else ""
            yield case["name"], label, mine["median_ms"], best, who, mine["median_ms"] / best, flag


def main(path):
    report = json.load(open(path))
    print(".. list-table::\n   :header-rows: 1\n\n   * - case\n     - mode\n     - nabla ms"
          "\n     - fastest peer ms\n     - nabla / fastest")
    for name, mode, mine, best, who, ratio, flag in rows(report):
        print(f"   * - {name}\n     - {mode}\n     - {mine:.3f}\n     - {best:.3f} ({who})"
              f"\n     - {ratio:.2f}{flag}")


if __name__ == "__main__":
    main(sys.argv[1])
