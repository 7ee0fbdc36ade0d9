"""Usage: python -m lucid [demo | bench [options] | tune [options]]

python -m lucid          environment report, self-check on every backend, decoder demo
python -m lucid demo     the lazy-decoder demo alone
python -m lucid bench    benchmarks against the native ops (--help for options)
python -m lucid tune     measure the formulation cost model on this machine (--help)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "bench":
        from ._cli.bench import main as bench_main

        return bench_main(args[1:])
    if args and args[0] == "tune":
        from ._cli.tune import main as tune_main

        return tune_main(args[1:])
    if args == ["demo"]:
        from ._cli.demo import main as demo_main

        return demo_main()
    if args and args[0] not in ("-h", "--help"):
        print(f"unknown command {args[0]!r}\n{__doc__}")
        return 2
    if args:
        print(__doc__)
        return 0
    from ._cli.report import main as report_main

    return report_main()


if __name__ == "__main__":
    sys.exit(main())
