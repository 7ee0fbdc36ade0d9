"""``python -m lucid``: environment report and self-check; ``python -m lucid bench``: benchmarks."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "bench":
        from ._cli.bench import main as bench_main

        return bench_main(args[1:])
    if args and args[0] not in ("-h", "--help"):
        print(f"unknown command {args[0]!r}; usage: python -m lucid [bench [options]]")
        return 2
    if args:
        print(__doc__)
        return 0
    from ._cli.report import main as report_main

    return report_main()


if __name__ == "__main__":
    sys.exit(main())
