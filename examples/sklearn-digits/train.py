#!/usr/bin/env python3
"""Trains a digits classifier and writes one model version directory.

    python3 train.py --out /tmp/models/digits/1
    python3 train.py --out /tmp/models/digits/2 --gamma 0.01 --C 10

The directory gets model.pkl (a pickled scikit-learn SVC with probability
estimates) and metadata.json (the parameters and the accuracy on a held-out
split). load_digits ships with scikit-learn: nothing is downloaded.
"""

import argparse
import json
import os
import pickle
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="the version directory to write")
    p.add_argument("--gamma", type=float, default=0.001, help="SVC RBF kernel gamma")
    p.add_argument("--C", type=float, default=1.0, help="SVC regularisation")
    p.add_argument("--train-fraction", type=float, default=1.0,
                   help="the part of the training split to fit on, in (0, 1]")
    p.add_argument("--seed", type=int, default=0, help="split and Platt-scaling seed")
    p.add_argument("--samples", metavar="PATH",
                   help="also write one held-out image per digit to PATH (samples.json)")
    args = p.parse_args(argv)
    if not 0 < args.train_fraction <= 1:
        p.error("--train-fraction must be in (0, 1]")

    from sklearn import __version__ as sklearn_version
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.svm import SVC

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=args.seed,
        stratify=digits.target)
    if args.train_fraction < 1:
        n = max(20, int(len(x_train) * args.train_fraction))
        x_train, y_train = x_train[:n], y_train[:n]

    start = time.monotonic()
    model = SVC(gamma=args.gamma, C=args.C, probability=True, random_state=args.seed)
    model.fit(x_train, y_train)
    seconds = time.monotonic() - start
    # The worker labels by the highest probability, so measure that.
    predicted = model.classes_[model.predict_proba(x_test).argmax(axis=1)]
    accuracy = float((predicted == y_test).mean())

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "model.pkl"), "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
    metadata = {
        "model": "SVC",
        "params": {"gamma": args.gamma, "C": args.C, "train_fraction": args.train_fraction,
                   "seed": args.seed},
        "train_size": int(len(x_train)),
        "test_size": int(len(x_test)),
        "accuracy": round(accuracy, 4),
        "train_seconds": round(seconds, 3),
        "sklearn_version": sklearn_version,
        "python_version": sys.version.split()[0],
    }
    with open(os.path.join(args.out, "metadata.json"), "w") as f:
        json.dump(metadata, f, indent=2, sort_keys=True)
        f.write("\n")

    if args.samples:
        samples = []
        for digit in range(10):
            i = next(i for i, y in enumerate(y_test) if y == digit)
            samples.append({"label": digit, "pixels": [int(v) for v in x_test[i]]})
        with open(args.samples, "w") as f:
            f.write('{"source": "sklearn.datasets.load_digits, held-out split, seed %d",\n'
                    ' "samples": [\n' % args.seed)
            f.write(",\n".join("  " + json.dumps(s) for s in samples))
            f.write("\n]}\n")

    print("wrote %s: accuracy %.4f on %d held-out images (trained on %d in %.2f s)"
          % (args.out, accuracy, len(x_test), len(x_train), seconds))


if __name__ == "__main__":
    main()
