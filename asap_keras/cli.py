"""The `asap-keras` command line: parses arguments and dispatches to a subcommand."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from asap_keras import stop_request
from asap_keras.config import STRATEGIES
from asap_keras.errors import AsapError, quote
from asap_keras.tf_startup import import_tensorflow

VERBOSE_HELP = ("0 silent, 1 a progress bar, 2 a line per epoch, 3 that plus TensorFlow's own "
                "start-up log lines (oneDNN, CUDA), hidden otherwise")


def _parser() -> argparse.ArgumentParser:
    from asap_keras import __version__

    parser = argparse.ArgumentParser(prog="asap-keras", description=__doc__)
    parser.add_argument("--version", action="version", version=f"asap-keras {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser("search", help="run an ASAP architecture search")
    search.add_argument("config", nargs="?", help="TOML config (not needed with --resume)")
    search.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key, e.g. "
                        "search.anneal.beta=0.9 (repeatable)")
    search.add_argument("--resume", metavar="RUN_DIR",
                        help="continue an interrupted search from its newest checkpoint")
    search.add_argument("--strategy", choices=STRATEGIES,
                        help="tf.distribute strategy (overrides runtime.strategy)")
    search.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2, 3),
                        help=VERBOSE_HELP)
    search.add_argument("--dry-run", action="store_true",
                        help="print the resolved config, steps per epoch, grace epochs and the "
                        "supernet's parameters and multiply-adds; train nothing")
    derive = sub.add_parser("derive", help="derive the genotype from a run's checkpoint")
    derive.add_argument("run_dir")
    derive.add_argument("--checkpoint", help="a checkpoint file (default: the newest)")
    derive.add_argument("--out", help="also write the genotype JSON here")
    train = sub.add_parser("train", help="retrain a genotype as the evaluation network")
    train.add_argument("config", nargs="?",
                       help="TOML config ([run], [data], [model], [train]; not with --resume)")
    train.add_argument("--genotype",
                       help="RUN_DIR/genotype.json, or a built-in cell: asap, darts_v1, "
                            "darts_v2")
    train.add_argument("--resume", metavar="RUN_DIR",
                       help="continue an interrupted training run from its last epoch")
    train.add_argument("--set", dest="overrides", action="append", default=[],
                       metavar="KEY=VALUE", help="override a config key (repeatable)")
    train.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2, 3),
                       help=VERBOSE_HELP)
    export = sub.add_parser("export", help="export a retrained run as a SavedModel")
    export.add_argument("run_dir")
    export.add_argument("--out", required=True, help="a new folder for the export")
    export.add_argument("--input-shape", metavar="H,W,C",
                        help="serving input shape (default: the training images' shape)")
    plot = sub.add_parser("plot", help="draw a cell as DARTS does (graphviz if installed, "
                          "DOT otherwise; no TensorFlow needed)")
    plot.add_argument("genotype", help="RUN_DIR, RUN_DIR/genotype.json, asap, darts_v1, "
                      "darts_v2 or random:SEED")
    plot.add_argument("--out", required=True, help="cell.svg, cell.png, cell.pdf or cell.dot")
    plot.add_argument("--cell", choices=("normal", "reduce", "both"), default="both")
    compare = sub.add_parser("compare", help="compare search runs: Figs. 3, 6, 7 and a table "
                             "(no TensorFlow needed)")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="search run directories")
    compare.add_argument("--out", required=True,
                         help="folder for the figures (PNG, SVG), report.md, report.html and "
                              "compare.json; created if missing")
    return parser


def _search(args) -> int:
    from asap_keras import config as config_lib

    if args.resume is None and args.config is None:
        raise AsapError("search needs a CONFIG file, or --resume RUN_DIR")
    if args.resume is not None and (args.config or args.overrides or args.strategy):
        raise AsapError("--resume continues a run with its own resolved config; drop CONFIG, "
                        f"--set and --strategy. Received: config={args.config!r}, "
                        f"overrides={args.overrides}")
    if args.dry_run and args.resume is not None:
        raise AsapError("--dry-run describes a new search from CONFIG; a resumed run's config "
                        f"is in its config.resolved.toml. Received: --resume="
                        f"{quote(args.resume)}")
    cfg = None
    if args.resume is None:
        overrides = list(args.overrides)
        if args.strategy:
            overrides.append(f'runtime.strategy="{args.strategy}"')
        cfg = config_lib.load_config(args.config, overrides)
    else:
        from asap_keras.resume import open_search_run

        open_search_run(args.resume)  # refuses before TensorFlow is imported
    if args.dry_run:
        import_tensorflow(show=args.verbose >= 3)
        from asap_keras.search.dry_run import describe_search

        print(describe_search(cfg), end="")
        return 0
    import_tensorflow(show=args.verbose >= 3)
    from asap_keras.search.runner import run_search

    run_path, _ = run_search(cfg, resume=args.resume, verbose=min(args.verbose, 2))
    if _wrote_elsewhere(run_path):
        return 0
    print(f"asap-keras: the found cell is in {run_path / 'genotype.json'}", file=sys.stderr)
    for line in _trace_report(run_path):
        print(f"asap-keras: {line}", file=sys.stderr)
    print(run_path)  # the last stdout line: `run=$(asap-keras search ... | tail -1)`
    return 0


def _trace_report(run_path):
    """What the run's `trace` events tell once it ended: the share of the search spent
    building step graphs, and the rebuild cost ratio they measure (when one tells)."""
    from asap_keras.search.rebuild import trace_share

    log = _run_log(run_path)
    traces = [e for e in log if e.kind == "trace"]
    share = trace_share(traces, [e for e in log if e.kind == "run_end"])
    lines = []
    if share is not None and traces:
        traced, search = share
        lines.append(f"building step graphs took {traced:.1f} s of the search's {search:.1f} s "
                     f"({100 * traced / search:.0f} %, {len(traces)} traces)")
    ratio = _measured_rebuild_ratio(log)
    if ratio is not None:
        lines.append(f"tracing an op here cost as much as {ratio:.0f} steps computing it "
                     f"(the search.prune.rebuild_cost_ratio that suits rebuild = \"cost\")")
    return lines


def _measured_rebuild_ratio(log):
    """The rebuild cost ratio a run's own traces measure, from its events `log` (None if
    none tells)."""
    from asap_keras.search.rebuild import measured_ratio

    return measured_ratio([e for e in log if e.kind == "trace"],
                          [e for e in log if e.kind == "epoch"])


def _run_log(run_path):
    """The run's events, damaged lines skipped (for hints only); none if unreadable."""
    from asap_keras.analysis.runs import read_events
    from asap_keras.run_dir import EVENTS_FILE

    try:
        return read_events(run_path / EVENTS_FILE)[0]
    except OSError:
        return []


def _wrote_elsewhere(run_path) -> bool:
    """A multi-worker run's other workers write a scratch copy, gone at the end: say so
    rather than print a run directory that does not exist."""
    if run_path.exists():
        return False
    print("asap-keras: this worker is not the chief of the multi-worker run; the chief's run "
          "directory holds its results", file=sys.stderr)
    return True


def _derive(args) -> int:
    from asap_keras.derive import check_out_path, derive_run, write_genotype

    if args.out:
        check_out_path(args.out)  # before reading anything: a refusal changes no file
    genotype, path = derive_run(args.run_dir, args.checkpoint)
    if args.out:
        write_genotype(genotype, args.out)
    print(f"checkpoint: {path}", file=sys.stderr)
    print(genotype.to_json())
    return 0


def _train(args) -> int:
    from asap_keras import config as config_lib
    from asap_keras.child.config import TrainConfig
    from asap_keras.child.genotypes import resolve
    from asap_keras.resume import open_training_run

    # Every argument and file is checked before the runner (and TensorFlow) is imported.
    if args.resume is not None:
        if args.config or args.genotype or args.overrides:
            raise AsapError("--resume continues a run with its own config and genotype; drop "
                            f"CONFIG, --genotype and --set. Received: config={args.config!r}, "
                            f"genotype={args.genotype!r}, overrides={args.overrides}")
        open_training_run(args.resume)  # refuses before TensorFlow is imported
        import_tensorflow(show=args.verbose >= 3)
        from asap_keras.child.runner import run_training

        run_path, results = run_training(resume=args.resume, verbose=min(args.verbose, 2))
    else:
        if args.config is None or args.genotype is None:
            raise AsapError("train needs CONFIG and --genotype (or --resume RUN_DIR). "
                            f"Received: config={args.config!r}, genotype={args.genotype!r}")
        genotype = resolve(args.genotype)
        cfg = config_lib.load_config(args.config, args.overrides, schema=TrainConfig)
        import_tensorflow(show=args.verbose >= 3)
        from asap_keras.child.runner import run_training

        run_path, results = run_training(cfg, genotype, args.genotype,
                                         verbose=min(args.verbose, 2))
    print(f"asap-keras: test error {results['test_error']:.4f} · "
          f"{results['parameters_m']:.3f} M params · {results['multiply_adds_m']:.1f} M "
          f"multiply-adds", file=sys.stderr)
    if not _wrote_elsewhere(run_path):
        print(run_path)  # the last stdout line, as `search` does
    return 0


def _input_shape(text: str | None) -> tuple[int, int, int] | None:
    """`--input-shape H,W,C` as three positive integers (None when not given)."""
    if text is None:
        return None
    parts = text.split(",")
    if (len(parts) != 3 or not all(p.strip().isascii() and p.strip().isdigit()
                                   and len(p.strip()) <= 6 for p in parts)
            or not all(int(p) > 0 for p in parts)):
        raise AsapError(f"--input-shape expects H,W,C: three positive integers. "
                        f"Received: --input-shape={quote(text)}")
    return tuple(int(p) for p in parts)


def _export(args) -> int:
    from asap_keras.export import check_export, export_run

    shape = _input_shape(args.input_shape)
    check_export(args.run_dir, args.out)  # the run and --out, before TensorFlow is imported
    import_tensorflow()
    print(f"exported to {export_run(args.run_dir, args.out, shape)}")
    return 0


def _plot(args) -> int:
    from pathlib import Path

    from asap_keras.child.genotypes import resolve
    from asap_keras.plot import plot

    spec = args.genotype
    if Path(spec).is_dir():
        spec = str(Path(spec) / "genotype.json")
    cells = ("normal", "reduce") if args.cell == "both" else (args.cell,)
    path, note = plot(resolve(spec), args.out, cells)
    if note:
        print(f"asap-keras: {note}", file=sys.stderr)
    print(path)
    return 0


def _compare(args) -> int:
    from asap_keras.analysis.compare import compare_runs

    written, notes = compare_runs(args.run_dirs, args.out)
    for note in notes:
        print(f"asap-keras: {note}", file=sys.stderr)
    for path in written:
        print(path)
    return 0


def stop_on_sigterm():
    """Makes SIGTERM (`kill`, a scheduler's preemption) stop a run the way Ctrl-C does.

    The run's log then ends with `run_end` status "interrupted", and `--resume` continues
    from the last checkpoint. Returns the previous handler (None off the main thread, where
    Python cannot set one).
    """
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        stop_request.request()  # honoured at the next batch if this exception is swallowed
        raise KeyboardInterrupt(f"signal {signum}")

    return signal.signal(signal.SIGTERM, interrupt)


def main(argv: list[str] | None = None) -> int:
    """Entry point; bad input prints one line and returns exit code 2."""
    args = _parser().parse_args(argv)
    # TensorFlow's C++ log lines (oneDNN notices, a missing CUDA driver) say nothing about
    # the run; they show with --verbose 3 (an explicit TF_CPP_MIN_LOG_LEVEL wins). Those it
    # prints before its logging starts ignore the variable: `import_tensorflow` holds them.
    show_tf = getattr(args, "verbose", 2) >= 3
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if show_tf else "3")
    stop_request.clear()
    previous = stop_on_sigterm()
    try:
        command = {"search": _search, "derive": _derive, "train": _train,
                   "export": _export, "compare": _compare, "plot": _plot}[args.command]
        return command(args)
    except AsapError as err:
        print(f"asap-keras: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        run_path = getattr(err, "run_path", None)
        hint = ""
        if run_path is not None and args.command in ("search", "train"):
            hint = f"; resume with: asap-keras {args.command} --resume {run_path}"
        print(f"asap-keras: interrupted{hint}", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def console() -> None:
    """The `asap-keras` command: `main`, then a prompt exit.

    When `main` returns, the command has written and closed everything: a run its
    `run_end`, its log and TensorBoard writers, and every checkpoint and result atomically.
    What is left is interpreter teardown, and there TensorFlow can hold the process:
    - after an interrupt, its thread pools and prefetching input pipelines, for minutes,
      while schedulers kill a process ~30 s after the signal;
    - after a finished search, the destructor of the input pipeline's iterator, which waits
      for tf.data's autotuning thread to wake up (its sleep doubles up to a minute): 40 s
      after 3 of 10 digits quickstarts here (a 45 s search).
    So it exits at once. (An exception `main` does not handle still unwinds normally.)
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
