"""One worker of a multi-worker search, started by tests/distributed/test_multi_worker.py.

    python -m tests.distributed.worker_job CONFIG RUNS_DIR STATE_NPZ [--resume RUN_DIR]

TF_CONFIG comes from the environment. Writes the final architecture state (alphas and
masks) to STATE_NPZ, outside the run directory, so the test can compare the workers.
"""

import sys

import numpy as np


def main(argv):
    import asap_keras

    config, runs_dir, state_file = argv[:3]
    if argv[3:5] and argv[3] == "--resume":
        result = asap_keras.search(resume=argv[4])
    else:
        # The "cost" rebuild rule: its stale structure must stay one graph on every worker.
        result = asap_keras.search(config, run__runs_dir=runs_dir, data__limit=240,
                                   runtime__strategy="multi_worker",
                                   search__prune__rebuild="cost")
    arrays = {f"{key}/{cell}": np.asarray(value)
              for key in ("alpha", "alive") for cell, value in result.state[key].items()}
    np.savez(state_file, run_path=str(result.run_dir), **arrays)


if __name__ == "__main__":
    main(sys.argv[1:])
